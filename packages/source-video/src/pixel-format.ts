/**
 * Pixel format names ↔ V4L2 FourCC codes, and frame sizes. Names are lower case: device-native names
 * (`yuyv`, `mjpeg`, `nv12`, `grey`, …; unknown FourCCs become their lower-cased code, e.g. `ba81`) and the
 * converted outputs (`rgb24`, `bgr24`, `gray8`, `rgba`).
 */

export interface PixelFormatInfo {
  name: string;
  /** V4L2 FourCC as a 4-character string, e.g. `YUYV`. */
  fourcc: string;
  compressed: boolean;
  /** Bytes per row of the first plane for a tightly packed frame (0 for compressed formats). */
  stride(width: number): number;
  /** Bytes of a tightly packed frame (undefined for compressed formats: their size varies). */
  frameBytes(width: number, height: number): number | undefined;
}

const packed = (name: string, fourcc: string, bpp: number): PixelFormatInfo => ({
  name,
  fourcc,
  compressed: false,
  stride: (w) => w * bpp,
  frameBytes: (w, h) => w * bpp * h,
});
const yuv422 = (name: string, fourcc: string): PixelFormatInfo => ({
  name,
  fourcc,
  compressed: false,
  stride: (w) => Math.ceil(w / 2) * 4,
  frameBytes: (w, h) => Math.ceil(w / 2) * 4 * h,
});
const yuv420 = (name: string, fourcc: string): PixelFormatInfo => ({
  name,
  fourcc,
  compressed: false,
  stride: (w) => w,
  frameBytes: (w, h) => w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2),
});
const compressed = (name: string, fourcc: string): PixelFormatInfo => ({
  name,
  fourcc,
  compressed: true,
  stride: () => 0,
  frameBytes: () => undefined,
});

/** Known formats. `gray8` and `grey` share a layout: `grey` is the device's own, `gray8` a converted output. */
export const PIXEL_FORMATS: readonly PixelFormatInfo[] = [
  yuv422('yuyv', 'YUYV'),
  yuv422('uyvy', 'UYVY'),
  yuv422('yvyu', 'YVYU'),
  yuv422('vyuy', 'VYUY'),
  yuv420('nv12', 'NV12'),
  yuv420('nv21', 'NV21'),
  yuv420('yu12', 'YU12'),
  yuv420('yv12', 'YV12'),
  packed('grey', 'GREY', 1),
  packed('gray8', 'GREY', 1),
  packed('rgb24', 'RGB3', 3),
  packed('bgr24', 'BGR3', 3),
  packed('rgba', 'AB24', 4),
  packed('bgra', 'AR24', 4),
  packed('rgb565', 'RGBP', 2),
  compressed('mjpeg', 'MJPG'),
  compressed('jpeg', 'JPEG'),
  compressed('h264', 'H264'),
];

/** Outputs the addon converts to from {@link CONVERTIBLE_SOURCES}. */
export const CONVERTED_OUTPUTS = ['rgb24', 'bgr24', 'gray8', 'rgba'] as const;
export type ConvertedOutput = (typeof CONVERTED_OUTPUTS)[number];
/** Device formats the addon converts from (everything else is passthrough only). */
export const CONVERTIBLE_SOURCES = ['yuyv', 'uyvy', 'nv12', 'nv21', 'mjpeg', 'jpeg'] as const;

const byName = new Map(PIXEL_FORMATS.map((f) => [f.name, f]));

/** FourCC string → 32-bit code (little-endian, as V4L2 defines it). */
export function fourccCode(fourcc: string): number {
  const s = fourcc.padEnd(4, ' ');
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}

/** 32-bit code → FourCC string (trailing spaces kept, as V4L2 has e.g. `Y10 `). */
export function fourccString(code: number): string {
  return String.fromCharCode(code & 0xff, (code >>> 8) & 0xff, (code >>> 16) & 0xff, (code >>> 24) & 0xff);
}

/** The senseflow name of a device FourCC (`YUYV` → `yuyv`, unknown `BA81` → `ba81`). */
export function pixelFormatName(fourcc: string | number): string {
  const s = typeof fourcc === 'number' ? fourccString(fourcc) : fourcc;
  const known = PIXEL_FORMATS.find((f) => f.fourcc === s && f.name !== 'gray8');
  return known ? known.name : s.trim().toLowerCase();
}

/**
 * Information about a named format (known names, or any 4-character FourCC in lower case, treated as an
 * opaque passthrough format).
 *
 * @example
 * ```ts
 * pixelFormatInfo('yuyv').frameBytes(640, 480); // 614400
 * ```
 */
export function pixelFormatInfo(name: string): PixelFormatInfo | undefined {
  const known = byName.get(name);
  if (known) return known;
  if (/^[a-z0-9 ]{2,4}$/.test(name)) return compressed(name, name.toUpperCase().padEnd(4, ' '));
  return undefined;
}

/** FourCC code of the layout `name` produces in the ring (gray8 → GREY, rgba → AB24, …). */
export function pixelFormatCode(name: string): number {
  const info = pixelFormatInfo(name);
  if (!info) throw new RangeError(`unknown pixel format '${name}'`);
  return fourccCode(info.fourcc);
}

/**
 * Bytes of one tightly packed frame, or undefined for compressed formats.
 *
 * @example
 * ```ts
 * bytesPerFrame('rgb24', 1280, 720); // 2764800
 * ```
 */
export function bytesPerFrame(name: string, width: number, height: number): number | undefined {
  return pixelFormatInfo(name)?.frameBytes(width, height);
}

/** True when the addon can turn device format `native` into output `output` (passthrough included). */
export function canProduce(native: string, output: string): boolean {
  if (native === output) return true;
  if (output === 'gray8' && native === 'grey') return true;
  return (CONVERTED_OUTPUTS as readonly string[]).includes(output) && (CONVERTIBLE_SOURCES as readonly string[]).includes(native);
}

/** How `output` is made from `native`. */
export function conversionKind(native: string, output: string): 'passthrough' | 'convert' | 'decode' {
  if (native === output || (output === 'gray8' && native === 'grey')) return 'passthrough';
  return native === 'mjpeg' || native === 'jpeg' ? 'decode' : 'convert';
}
