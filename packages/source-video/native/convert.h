// Pixel conversion and JPEG decode: one pass from a source buffer (usually a V4L2 mmap buffer) straight into
// the destination (usually a ring slot in a SharedArrayBuffer). No allocation, no intermediate copies.
#pragma once
#include <cstddef>
#include <cstdint>

#include <turbojpeg.h>

namespace sf {

constexpr uint32_t fourcc(char a, char b, char c, char d) {
  return uint32_t(uint8_t(a)) | (uint32_t(uint8_t(b)) << 8) | (uint32_t(uint8_t(c)) << 16) | (uint32_t(uint8_t(d)) << 24);
}

// Source layouts we convert from (V4L2 fourccs).
constexpr uint32_t FMT_YUYV = fourcc('Y', 'U', 'Y', 'V');
constexpr uint32_t FMT_UYVY = fourcc('U', 'Y', 'V', 'Y');
constexpr uint32_t FMT_NV12 = fourcc('N', 'V', '1', '2');
constexpr uint32_t FMT_NV21 = fourcc('N', 'V', '2', '1');
constexpr uint32_t FMT_MJPG = fourcc('M', 'J', 'P', 'G');
constexpr uint32_t FMT_JPEG = fourcc('J', 'P', 'E', 'G');
// Output layouts (V4L2 fourccs for packed RGB / grey).
constexpr uint32_t OUT_RGB24 = fourcc('R', 'G', 'B', '3');
constexpr uint32_t OUT_BGR24 = fourcc('B', 'G', 'R', '3');
constexpr uint32_t OUT_GRAY8 = fourcc('G', 'R', 'E', 'Y');
constexpr uint32_t OUT_RGBA = fourcc('A', 'B', '2', '4');  // V4L2_PIX_FMT_RGBA32: bytes R, G, B, A

// Negative results of convertFrame().
enum ConvertError : long {
  CONVERT_SHORT_INPUT = -1,   // the source holds fewer bytes than the frame needs
  CONVERT_NO_ROOM = -2,       // the destination is smaller than the converted frame
  CONVERT_BAD_JPEG = -3,      // libjpeg-turbo could not decode (message in jpegError)
  CONVERT_UNSUPPORTED = -4,   // no kernel for this source → output pair
  CONVERT_SIZE_MISMATCH = -5, // the JPEG's dimensions differ from the negotiated ones
};

struct Frame {
  const uint8_t* data;
  size_t bytes;      // bytes valid in data (V4L2 bytesused)
  uint32_t fourcc;
  int width;
  int height;
  int stride;        // bytes per row of the (first) plane; 0 = tightly packed
};

// Bytes per pixel of an output layout, 0 if unknown.
int outputBytesPerPixel(uint32_t out);

// Converts (or copies when out == 0 or out == src.fourcc) `src` into dst. Returns bytes written or a
// ConvertError. `tj` is a decompressor handle (needed for MJPEG only); `jpegError` receives its message.
long convertFrame(const Frame& src, uint8_t* dst, size_t dstCapacity, uint32_t out, tjhandle tj, const char** jpegError);

}  // namespace sf
