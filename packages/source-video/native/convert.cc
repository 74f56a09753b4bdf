// Conversion kernels. YUV→RGB is BT.601 limited range in 20-bit fixed point with the same coefficients and
// rounding as OpenCV's COLOR_YUV2RGB_YUYV / COLOR_YUV2RGB_NV12, so results agree with it (±1). Clamping is
// branch-free (saturating packs in the AVX2 path, cmov / min-max elsewhere), so noise converts as fast as
// flat content. Dispatch on x86-64: hand-written AVX2 for packed 4:2:2, compiler-vectorized AVX2 / SSE4.1
// variants for the rest, scalar x86-64 as the floor; chosen once at run time from the CPU's features.
// Elsewhere (arm64: NEON is baseline there) one portable build of the same kernels, vectorized by the compiler.
#include "convert.h"

#if defined(__x86_64__) || defined(__i386__)
#define SF_X86 1
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>

namespace sf {
namespace {

constexpr int SHIFT = 20;
constexpr int HALF = 1 << (SHIFT - 1);
constexpr int CY = 1220542;   // 1.164 · 2^20
constexpr int CUB = 2116026;  // 2.018 · 2^20
constexpr int CUG = -409993;  // -0.391 · 2^20
constexpr int CVG = -852492;  // -0.813 · 2^20
constexpr int CVR = 1673527;  // 1.596 · 2^20

// ---- YUV → packed RGB ---------------------------------------------------------------------------
// Each row is done in two vectorizable steps over a small cache-resident chunk: (1) compute 4 bytes per pixel
// (R, G, B, 255 in the output's channel order) — the compiler vectorizes this when the ISA has 32-bit
// vector multiply/min/max; (2) for 3-byte outputs, drop every 4th byte. The kernels are compiled for AVX2,
// SSE4.1 and plain x86-64 and picked at run time (plain is left scalar on purpose: SSE2 lacks 32-bit
// vector multiply and min/max, and GCC's emulation of them is slower than scalar code).

constexpr int CHUNK = 256;  // pixels per step-(1) chunk: 1 KiB of temporaries, stays in L1

inline __attribute__((always_inline)) uint8_t sat(int v) {
  v = v < 0 ? 0 : v;
  v = v > 255 ? 255 : v;
  return uint8_t(v);
}

inline __attribute__((always_inline)) int scaleY(int y) { return std::max(0, y - 16) * CY; }

// One pixel → 4 bytes at d (channel positions RI, 1, BI; byte 3 = opaque alpha).
template <int RI, int BI>
inline __attribute__((always_inline)) void put4(uint8_t* __restrict d, int yScaled, int ruv, int guv, int buv) {
  d[RI] = sat((yScaled + ruv) >> SHIFT);
  d[1] = sat((yScaled + guv) >> SHIFT);
  d[BI] = sat((yScaled + buv) >> SHIFT);
  d[3] = 255;
}

// Step (1) for packed 4:2:2 (YUYV: Y0=0 U=1 Y1=2 V=3; UYVY: U=0 Y0=1 V=2 Y1=3): `pairs` macropixels.
template <int Y0, int U, int Y1, int V, int RI, int BI>
inline __attribute__((always_inline)) void yuv422Quad(const uint8_t* __restrict s, uint8_t* __restrict d, int pairs) {
  for (int i = 0; i < pairs; i++) {
    const int u = int(s[4 * i + U]) - 128, v = int(s[4 * i + V]) - 128;
    const int ruv = HALF + CVR * v, guv = HALF + CVG * v + CUG * u, buv = HALF + CUB * u;
    put4<RI, BI>(d + 8 * i, scaleY(s[4 * i + Y0]), ruv, guv, buv);
    put4<RI, BI>(d + 8 * i + 4, scaleY(s[4 * i + Y1]), ruv, guv, buv);
  }
}

// Step (1) for semi-planar 4:2:0 rows (NV12: U first; NV21: V first).
template <int UI, int RI, int BI>
inline __attribute__((always_inline)) void nv12Quad(const uint8_t* __restrict y, const uint8_t* __restrict c, uint8_t* __restrict d, int pairs) {
  for (int i = 0; i < pairs; i++) {
    const int u = int(c[2 * i + UI]) - 128, v = int(c[2 * i + 1 - UI]) - 128;
    const int ruv = HALF + CVR * v, guv = HALF + CVG * v + CUG * u, buv = HALF + CUB * u;
    put4<RI, BI>(d + 8 * i, scaleY(y[2 * i]), ruv, guv, buv);
    put4<RI, BI>(d + 8 * i + 4, scaleY(y[2 * i + 1]), ruv, guv, buv);
  }
}

// Step (2): 4 bytes per pixel → 3.
inline __attribute__((always_inline)) void pack3(const uint8_t* __restrict t, uint8_t* __restrict d, int n) {
  for (int i = 0; i < n; i++) {
    d[3 * i] = t[4 * i];
    d[3 * i + 1] = t[4 * i + 1];
    d[3 * i + 2] = t[4 * i + 2];
  }
}

// A whole row: N = 3 or 4 output bytes per pixel. The odd last pixel (odd widths) is done alone.
template <int Y0, int U, int Y1, int V, int N, int RI, int BI>
inline __attribute__((always_inline)) void yuv422RowImpl(const uint8_t* s, uint8_t* d, int width) {
  const int pairs = width / 2;
  if constexpr (N == 4) {
    yuv422Quad<Y0, U, Y1, V, RI, BI>(s, d, pairs);
  } else {
    alignas(64) uint8_t tmp[CHUNK * 4];
    for (int p = 0; p < pairs; p += CHUNK / 2) {
      const int n = std::min(CHUNK / 2, pairs - p);
      yuv422Quad<Y0, U, Y1, V, RI, BI>(s + 4 * p, tmp, n);
      pack3(tmp, d + 2 * N * p, 2 * n);
    }
  }
  if (width & 1) {
    const uint8_t* m = s + 4 * pairs;
    const int u = int(m[U]) - 128, v = int(m[V]) - 128;
    uint8_t px[4];
    put4<RI, BI>(px, scaleY(m[Y0]), HALF + CVR * v, HALF + CVG * v + CUG * u, HALF + CUB * u);
    std::memcpy(d + size_t(width - 1) * N, px, N);
  }
}

template <int UI, int N, int RI, int BI>
inline __attribute__((always_inline)) void nv12RowImpl(const uint8_t* y, const uint8_t* c, uint8_t* d, int width) {
  const int pairs = width / 2;
  if constexpr (N == 4) {
    nv12Quad<UI, RI, BI>(y, c, d, pairs);
  } else {
    alignas(64) uint8_t tmp[CHUNK * 4];
    for (int p = 0; p < pairs; p += CHUNK / 2) {
      const int n = std::min(CHUNK / 2, pairs - p);
      nv12Quad<UI, RI, BI>(y + 2 * p, c + 2 * p, tmp, n);
      pack3(tmp, d + 2 * N * p, 2 * n);
    }
  }
  if (width & 1) {
    const int u = int(c[2 * pairs + UI]) - 128, v = int(c[2 * pairs + 1 - UI]) - 128;
    uint8_t px[4];
    put4<RI, BI>(px, scaleY(y[width - 1]), HALF + CVR * v, HALF + CVG * v + CUG * u, HALF + CUB * u);
    std::memcpy(d + size_t(width - 1) * N, px, N);
  }
}

template <int Y0>
void yuv422GrayRow(const uint8_t* s, uint8_t* d, int width) {
  for (int x = 0; x < width; x++) d[x] = s[2 * x + Y0];
}

using PackedRow = void (*)(const uint8_t*, uint8_t*, int);
using PlanarRow = void (*)(const uint8_t*, const uint8_t*, uint8_t*, int);

// The same row kernels compiled three times; `level` picks one.
#define SF_KERNELS(SUFFIX, ATTR)                                                                        \
  template <int Y0, int U, int Y1, int V, int N, int RI, int BI>                                        \
  ATTR void yuv422Row_##SUFFIX(const uint8_t* s, uint8_t* d, int w) {                                  \
    yuv422RowImpl<Y0, U, Y1, V, N, RI, BI>(s, d, w);                                                    \
  }                                                                                                     \
  template <int UI, int N, int RI, int BI>                                                              \
  ATTR void nv12Row_##SUFFIX(const uint8_t* y, const uint8_t* c, uint8_t* d, int w) {                  \
    nv12RowImpl<UI, N, RI, BI>(y, c, d, w);                                                             \
  }                                                                                                     \
  template <int Y0, int U, int Y1, int V>                                                               \
  PackedRow pickPacked_##SUFFIX(uint32_t out) {                                                         \
    switch (out) {                                                                                      \
      case OUT_RGB24: return yuv422Row_##SUFFIX<Y0, U, Y1, V, 3, 0, 2>;                                 \
      case OUT_BGR24: return yuv422Row_##SUFFIX<Y0, U, Y1, V, 3, 2, 0>;                                 \
      case OUT_RGBA: return yuv422Row_##SUFFIX<Y0, U, Y1, V, 4, 0, 2>;                                  \
      default: return nullptr;                                                                          \
    }                                                                                                   \
  }                                                                                                     \
  template <int UI>                                                                                     \
  PlanarRow pickPlanar_##SUFFIX(uint32_t out) {                                                         \
    switch (out) {                                                                                      \
      case OUT_RGB24: return nv12Row_##SUFFIX<UI, 3, 0, 2>;                                             \
      case OUT_BGR24: return nv12Row_##SUFFIX<UI, 3, 2, 0>;                                             \
      case OUT_RGBA: return nv12Row_##SUFFIX<UI, 4, 0, 2>;                                              \
      default: return nullptr;                                                                          \
    }                                                                                                   \
  }

#ifdef SF_X86
SF_KERNELS(avx2, __attribute__((target("avx2"))))
SF_KERNELS(sse41, __attribute__((target("sse4.1"))))
SF_KERNELS(plain, __attribute__((optimize("no-tree-vectorize"))))
#else
SF_KERNELS(portable, )
#endif


#ifdef SF_X86
// Hand-written AVX2 row for packed 4:2:2, 16 pixels per step, bit-exact with the scalar kernels: the same
// 32-bit fixed-point products (_mm256_mullo_epi32), then saturating packs (int32 → int16 → uint8) do the
// clamping for free, and byte shuffles interleave the channels.
// One channel of 16 pixels as int16 in pixel order (within each 128-bit lane: pixels 0-7 | 8-15), from the
// scaled lumas of the even/odd pixels and the chroma term of each macropixel.
__attribute__((target("avx2"), always_inline)) inline __m256i channel16(__m256i ys0, __m256i ys1, __m256i c) {
  const __m256i e = _mm256_srai_epi32(_mm256_add_epi32(ys0, c), SHIFT);
  const __m256i o = _mm256_srai_epi32(_mm256_add_epi32(ys1, c), SHIFT);
  return _mm256_packs_epi32(_mm256_unpacklo_epi32(e, o), _mm256_unpackhi_epi32(e, o));
}

template <int Y0, int U, int Y1, int V, int N, int RI, int BI>
__attribute__((target("avx2"))) void yuv422RowAvx2(const uint8_t* s, uint8_t* d, int width) {
  const __m256i mask = _mm256_set1_epi32(0xff), c128 = _mm256_set1_epi32(128), c16 = _mm256_set1_epi32(16);
  const __m256i half = _mm256_set1_epi32(HALF), zero = _mm256_setzero_si256(), alpha = _mm256_set1_epi16(255);
  const __m256i cy = _mm256_set1_epi32(CY), cvr = _mm256_set1_epi32(CVR), cvg = _mm256_set1_epi32(CVG);
  const __m256i cug = _mm256_set1_epi32(CUG), cub = _mm256_set1_epi32(CUB);
  // Drops every 4th byte of each 16-byte lane (RGBA → RGB); the last 4 bytes of a lane are don't-care.
  const __m256i drop4 = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,  //
                                         0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  int x = 0;
  // 3-byte outputs store 4 bytes past the 16 pixels (overwritten by the next step): keep 2 pixels in reserve.
  for (; x + 16 + (N == 3 ? 2 : 0) <= width; x += 16) {
    const __m256i px = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 2 * x));  // lane k = macropixel k
    const __m256i y0 = _mm256_and_si256(_mm256_srli_epi32(px, 8 * Y0), mask);
    const __m256i y1 = _mm256_and_si256(_mm256_srli_epi32(px, 8 * Y1), mask);
    const __m256i u = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(px, 8 * U), mask), c128);
    const __m256i v = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(px, 8 * V), mask), c128);
    const __m256i ruv = _mm256_add_epi32(half, _mm256_mullo_epi32(v, cvr));
    const __m256i guv = _mm256_add_epi32(half, _mm256_add_epi32(_mm256_mullo_epi32(v, cvg), _mm256_mullo_epi32(u, cug)));
    const __m256i buv = _mm256_add_epi32(half, _mm256_mullo_epi32(u, cub));
    const __m256i ys0 = _mm256_mullo_epi32(_mm256_max_epi32(_mm256_sub_epi32(y0, c16), zero), cy);
    const __m256i ys1 = _mm256_mullo_epi32(_mm256_max_epi32(_mm256_sub_epi32(y1, c16), zero), cy);
    const __m256i r = channel16(ys0, ys1, ruv), g = channel16(ys0, ys1, guv), b = channel16(ys0, ys1, buv);
    // Saturating pack to bytes = the clamp to 0..255. Lane: [first 8 | second 8] of each pair.
    const __m256i firstG = _mm256_packus_epi16(RI == 0 ? r : b, g);      // C0 ×8, G ×8 per lane
    const __m256i lastA = _mm256_packus_epi16(RI == 0 ? b : r, alpha);   // C2 ×8, A ×8 per lane
    const __m256i cg = _mm256_unpacklo_epi8(firstG, _mm256_srli_si256(firstG, 8));  // C0 G C0 G …
    const __m256i ca = _mm256_unpacklo_epi8(lastA, _mm256_srli_si256(lastA, 8));    // C2 A C2 A …
    const __m256i lo = _mm256_unpacklo_epi16(cg, ca);  // pixels 0-3 | 8-11 as 4 bytes each
    const __m256i hi = _mm256_unpackhi_epi16(cg, ca);  // pixels 4-7 | 12-15
    const __m256i p0 = _mm256_permute2x128_si256(lo, hi, 0x20);  // pixels 0-7
    const __m256i p1 = _mm256_permute2x128_si256(lo, hi, 0x31);  // pixels 8-15
    if constexpr (N == 4) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 4 * x), p0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 4 * x + 32), p1);
    } else {
      const __m256i q0 = _mm256_shuffle_epi8(p0, drop4), q1 = _mm256_shuffle_epi8(p1, drop4);
      uint8_t* o = d + 3 * x;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm256_castsi256_si128(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 12), _mm256_extracti128_si256(q0, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 24), _mm256_castsi256_si128(q1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 36), _mm256_extracti128_si256(q1, 1));
    }
  }
  if (x < width) yuv422RowImpl<Y0, U, Y1, V, N, RI, BI>(s + 2 * x, d + size_t(N) * x, width - x);
}

template <int Y0, int U, int Y1, int V>
PackedRow pickPackedAvx2(uint32_t out) {
  switch (out) {
    case OUT_RGB24: return yuv422RowAvx2<Y0, U, Y1, V, 3, 0, 2>;
    case OUT_BGR24: return yuv422RowAvx2<Y0, U, Y1, V, 3, 2, 0>;
    case OUT_RGBA: return yuv422RowAvx2<Y0, U, Y1, V, 4, 0, 2>;
    default: return nullptr;
  }
}

// 2 = AVX2, 1 = SSE4.1, 0 = plain; decided once per process.
int simdLevel() {
  static const int level = __builtin_cpu_supports("avx2") ? 2 : __builtin_cpu_supports("sse4.1") ? 1 : 0;
  return level;
}

template <int Y0, int U, int Y1, int V>
PackedRow pickPacked(uint32_t out) {
  if (out == OUT_GRAY8) return yuv422GrayRow<Y0>;
  switch (simdLevel()) {
    case 2: return pickPackedAvx2<Y0, U, Y1, V>(out);
    case 1: return pickPacked_sse41<Y0, U, Y1, V>(out);
    default: return pickPacked_plain<Y0, U, Y1, V>(out);
  }
}

template <int UI>
PlanarRow pickPlanar(uint32_t out) {
  switch (simdLevel()) {
    case 2: return pickPlanar_avx2<UI>(out);
    case 1: return pickPlanar_sse41<UI>(out);
    default: return pickPlanar_plain<UI>(out);
  }
}
#else
template <int Y0, int U, int Y1, int V>
PackedRow pickPacked(uint32_t out) {
  if (out == OUT_GRAY8) return yuv422GrayRow<Y0>;
  return pickPacked_portable<Y0, U, Y1, V>(out);
}

template <int UI>
PlanarRow pickPlanar(uint32_t out) {
  return pickPlanar_portable<UI>(out);
}
#endif

long decodeJpeg(const Frame& src, uint8_t* dst, size_t cap, uint32_t out, tjhandle tj, const char** err) {
  int pf;
  switch (out) {
    case OUT_RGB24: pf = TJPF_RGB; break;
    case OUT_BGR24: pf = TJPF_BGR; break;
    case OUT_GRAY8: pf = TJPF_GRAY; break;
    case OUT_RGBA: pf = TJPF_RGBA; break;
    default: return CONVERT_UNSUPPORTED;
  }
  if (!tj) return CONVERT_UNSUPPORTED;
  int w = 0, h = 0, subsamp = 0, cs = 0;
  auto* jpeg = const_cast<unsigned char*>(src.data);
  if (tjDecompressHeader3(tj, jpeg, (unsigned long)src.bytes, &w, &h, &subsamp, &cs) != 0) {
    if (err) *err = tjGetErrorStr2(tj);
    return CONVERT_BAD_JPEG;
  }
  if (w <= 0 || h <= 0) return CONVERT_BAD_JPEG;
  if (w != src.width || h != src.height) {
    if (err) *err = nullptr;
    return CONVERT_SIZE_MISMATCH;
  }
  const size_t need = size_t(w) * size_t(h) * size_t(tjPixelSize[pf]);
  if (need > cap) return CONVERT_NO_ROOM;
  // Decodes straight into dst; a warning (e.g. a truncated scan some webcams emit) still yields an image.
  if (tjDecompress2(tj, jpeg, (unsigned long)src.bytes, dst, w, 0, h, pf, 0) != 0 && tjGetErrorCode(tj) != TJERR_WARNING) {
    if (err) *err = tjGetErrorStr2(tj);
    return CONVERT_BAD_JPEG;
  }
  return long(need);
}

}  // namespace

int outputBytesPerPixel(uint32_t out) {
  switch (out) {
    case OUT_RGB24:
    case OUT_BGR24: return 3;
    case OUT_RGBA: return 4;
    case OUT_GRAY8: return 1;
    default: return 0;
  }
}

long convertFrame(const Frame& src, uint8_t* dst, size_t cap, uint32_t out, tjhandle tj, const char** jpegError) {
  if (out == 0 || out == src.fourcc) {  // passthrough: the native bytes, as the driver filled them
    if (src.bytes > cap) return CONVERT_NO_ROOM;
    std::memcpy(dst, src.data, src.bytes);
    return long(src.bytes);
  }
  if (src.fourcc == FMT_MJPG || src.fourcc == FMT_JPEG) return decodeJpeg(src, dst, cap, out, tj, jpegError);

  const int w = src.width, h = src.height, bpp = outputBytesPerPixel(out);
  if (w <= 0 || h <= 0 || bpp == 0) return CONVERT_UNSUPPORTED;
  const size_t dstStride = size_t(w) * size_t(bpp);
  if (dstStride * size_t(h) > cap) return CONVERT_NO_ROOM;

  if (src.fourcc == FMT_YUYV || src.fourcc == FMT_UYVY) {
    const PackedRow row = src.fourcc == FMT_YUYV ? pickPacked<0, 1, 2, 3>(out) : pickPacked<1, 0, 3, 2>(out);
    if (!row) return CONVERT_UNSUPPORTED;
    const size_t stride = src.stride > 0 ? size_t(src.stride) : size_t((w + 1) / 2) * 4;
    if (src.bytes < stride * size_t(h - 1) + size_t((w + 1) / 2) * 4) return CONVERT_SHORT_INPUT;
    for (int y = 0; y < h; y++) row(src.data + stride * y, dst + dstStride * y, w);
    return long(dstStride * h);
  }

  if (src.fourcc == FMT_NV12 || src.fourcc == FMT_NV21) {
    const size_t stride = src.stride > 0 ? size_t(src.stride) : size_t(w);
    const size_t chromaRows = size_t((h + 1) / 2);
    if (src.bytes < stride * size_t(h) + stride * (chromaRows - 1) + size_t(w)) return CONVERT_SHORT_INPUT;
    const uint8_t* chroma = src.data + stride * size_t(h);
    if (out == OUT_GRAY8) {  // luma is the grey image
      for (int y = 0; y < h; y++) std::memcpy(dst + dstStride * y, src.data + stride * y, size_t(w));
      return long(dstStride * h);
    }
    const PlanarRow row = src.fourcc == FMT_NV12 ? pickPlanar<0>(out) : pickPlanar<1>(out);
    if (!row) return CONVERT_UNSUPPORTED;
    for (int y = 0; y < h; y++) row(src.data + stride * y, chroma + stride * size_t(y / 2), dst + dstStride * y, w);
    return long(dstStride * h);
  }
  return CONVERT_UNSUPPORTED;
}

}  // namespace sf
