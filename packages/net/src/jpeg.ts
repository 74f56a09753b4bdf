/**
 * JPEG encoding for network video. sharp (libvips + libjpeg-turbo, prebuilt in its npm package) encodes on
 * libuv's thread pool, so the main thread only copies the frame out of the ring (and converts YUYV, which
 * libvips cannot read raw). MJPEG frames are passed through untouched by the caller.
 */
import sharp from 'sharp';
import { UnsupportedFormatError } from '@senseflow/core';

/** Pixel formats this encoder accepts (besides mjpeg/jpeg, which need no encoding). */
export const JPEG_INPUT_FORMATS = ['rgb24', 'bgr24', 'rgba', 'gray8', 'yuyv'] as const;

export const isJpegFormat = (pixelFormat: string): boolean => pixelFormat === 'mjpeg' || pixelFormat === 'jpeg';

interface RawLayout {
  channels: 1 | 3 | 4;
  /** Bytes per pixel in the source rows. */
  bpp: number;
}

function layoutOf(pixelFormat: string): RawLayout {
  switch (pixelFormat) {
    case 'rgb24':
    case 'bgr24':
      return { channels: 3, bpp: 3 };
    case 'rgba':
      return { channels: 4, bpp: 4 };
    case 'gray8':
      return { channels: 1, bpp: 1 };
    case 'yuyv':
      return { channels: 3, bpp: 2 };
    default:
      throw new UnsupportedFormatError(`cannot JPEG-encode pixel format '${pixelFormat}' (supported: ${JPEG_INPUT_FORMATS.join(', ')}, mjpeg)`, {
        pixelFormat,
        choices: [...JPEG_INPUT_FORMATS],
      });
  }
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** BT.601 limited-range YUYV → packed RGB. */
function yuyvToRgb(src: Uint8Array, width: number, height: number, stride: number, out: Uint8Array): void {
  let o = 0;
  for (let y = 0; y < height; y++) {
    let i = y * stride;
    for (let x = 0; x < width; x += 2, i += 4) {
      const u = src[i + 1] - 128;
      const v = src[i + 3] - 128;
      const rv = 1.596 * v;
      const guv = -0.392 * u - 0.813 * v;
      const bu = 2.017 * u;
      for (const yy of [src[i], src[i + 2]]) {
        const l = 1.164 * (yy - 16);
        out[o++] = clamp(l + rv);
        out[o++] = clamp(l + guv);
        out[o++] = clamp(l + bu);
      }
    }
  }
}

/**
 * Copies a frame out of the ring into a compact buffer sharp can read (the ring slot may be reused while
 * libvips works). Synchronous: call it while the frame view is valid.
 */
export function snapshotForJpeg(data: Uint8Array, width: number, height: number, stride: number, pixelFormat: string): { pixels: Buffer; channels: 1 | 3 | 4 } {
  const { channels, bpp } = layoutOf(pixelFormat);
  const pixels = Buffer.allocUnsafe(width * height * channels);
  if (pixelFormat === 'yuyv') yuyvToRgb(data, width, height, stride || width * 2, pixels);
  else {
    const row = width * bpp;
    const s = stride || row;
    if (s === row) pixels.set(data.subarray(0, row * height));
    else for (let y = 0; y < height; y++) pixels.set(data.subarray(y * s, y * s + row), y * row);
  }
  return { pixels, channels };
}

/** Encodes a snapshot on the thread pool. `bgr24` is recombined to RGB inside libvips. */
export async function encodeJpeg(snap: { pixels: Buffer; channels: 1 | 3 | 4 }, width: number, height: number, pixelFormat: string, quality: number): Promise<Buffer> {
  let img = sharp(snap.pixels, { raw: { width, height, channels: snap.channels } });
  if (pixelFormat === 'bgr24')
    img = img.recomb([
      [0, 0, 1],
      [0, 1, 0],
      [1, 0, 0],
    ]);
  return img.jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
}
