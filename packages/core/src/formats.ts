/**
 * Pixel format names used across senseflow, and their V4L2 FourCC codes (the `format` field of a frame
 * ring slot). Names are lower case; unknown names map to their own FourCC (first four characters).
 */
const TABLE: Record<string, string> = {
  yuyv: 'YUYV',
  uyvy: 'UYVY',
  mjpeg: 'MJPG',
  jpeg: 'JPEG',
  nv12: 'NV12',
  nv21: 'NV21',
  yu12: 'YU12',
  gray8: 'GREY',
  rgb24: 'RGB3',
  bgr24: 'BGR3',
  rgba: 'AB24',
  h264: 'H264',
};

export const fourcc = (s: string): number =>
  (s.charCodeAt(0) & 0xff) | ((s.charCodeAt(1) & 0xff) << 8) | ((s.charCodeAt(2) & 0xff) << 16) | ((s.charCodeAt(3) & 0xff) << 24);

export const fourccString = (code: number): string =>
  String.fromCharCode(code & 0xff, (code >>> 8) & 0xff, (code >>> 16) & 0xff, (code >>> 24) & 0xff);

/** Format name → FourCC code. `grey` and `gray8` are the same format. */
export function formatCode(name: string): number {
  const n = name.toLowerCase();
  const cc = TABLE[n === 'grey' ? 'gray8' : n] ?? name.toUpperCase().padEnd(4, ' ').slice(0, 4);
  return fourcc(cc);
}

/** FourCC code → format name (the table's name when known, else the FourCC in lower case, trimmed). */
export function formatName(code: number): string {
  const cc = fourccString(code);
  for (const [name, c] of Object.entries(TABLE)) if (c === cc) return name;
  return cc.trim().toLowerCase();
}

/** Bytes of one frame for raw formats (null for compressed formats, whose size varies). */
export function frameBytes(name: string, width: number, height: number): number | null {
  switch (name.toLowerCase()) {
    case 'yuyv':
    case 'uyvy':
      return width * height * 2;
    case 'nv12':
    case 'nv21':
    case 'yu12':
      return (width * height * 3) / 2;
    case 'gray8':
    case 'grey':
      return width * height;
    case 'rgb24':
    case 'bgr24':
      return width * height * 3;
    case 'rgba':
      return width * height * 4;
    default:
      return null;
  }
}
