/**
 * The test pattern's pixels: moving colour bars with the frame's seq and capture time encoded as a
 * 128-cell barcode in the top band, so tests can check frame identity, order and timing end to end.
 * Pure functions: used by the source (in its worker) and by tests and tools to decode frames.
 */
export const PATTERN_FORMATS = ['rgb24', 'bgr24', 'rgba', 'gray8', 'yuyv'] as const;
export type PatternFormat = (typeof PATTERN_FORMATS)[number];

/** Bytes per pixel (yuyv: 2, as a pair of pixels takes 4 bytes). */
export const bytesPerPixel = (f: PatternFormat): number => ({ rgb24: 3, bgr24: 3, rgba: 4, gray8: 1, yuyv: 2 })[f];

const BARS: [number, number, number][] = [
  [235, 235, 235],
  [235, 235, 16],
  [16, 235, 235],
  [16, 235, 16],
  [235, 16, 235],
  [235, 16, 16],
  [16, 16, 235],
  [16, 16, 16],
];

const luma = (r: number, g: number, b: number) => Math.round(0.299 * r + 0.587 * g + 0.114 * b);
const cb = (r: number, g: number, b: number) => Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
const cr = (r: number, g: number, b: number) => Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);

/** Writes one pixel colour in `format` at byte offset `o` (yuyv: a pixel pair). */
function put(out: Uint8Array, o: number, f: PatternFormat, r: number, g: number, b: number): void {
  switch (f) {
    case 'rgb24':
      out[o] = r, out[o + 1] = g, out[o + 2] = b;
      break;
    case 'bgr24':
      out[o] = b, out[o + 1] = g, out[o + 2] = r;
      break;
    case 'rgba':
      out[o] = r, out[o + 1] = g, out[o + 2] = b, out[o + 3] = 255;
      break;
    case 'gray8':
      out[o] = luma(r, g, b);
      break;
    case 'yuyv': {
      const y = luma(r, g, b);
      out[o] = y, out[o + 1] = cb(r, g, b), out[o + 2] = y, out[o + 3] = cr(r, g, b);
      break;
    }
  }
}

export interface PatternGeometry {
  width: number;
  height: number;
  format: PatternFormat;
  stride: number;
  /** Barcode cell size in pixels (cells are square; 32 per row, 4 rows). */
  cell: number;
}

export function patternGeometry(width: number, height: number, format: PatternFormat): PatternGeometry {
  // yuyv cells span whole pixel pairs; 32 cells always fit in the width (width ≥ 64).
  const cell = Math.max(format === 'yuyv' ? 2 : 1, Math.floor(width / 32) & (format === 'yuyv' ? ~1 : ~0));
  return { width, height, format, stride: width * bytesPerPixel(format), cell };
}

/**
 * Precomputes one double-width row of colour bars, so a frame is `height` row copies (memcpy speed) at
 * a moving offset, then the barcode.
 */
export function makeBarsRow(g: PatternGeometry): Uint8Array {
  const bpp = bytesPerPixel(g.format);
  const row = new Uint8Array(g.stride * 2);
  const step = g.format === 'yuyv' ? 2 : 1;
  for (let x = 0; x < g.width * 2; x += step) {
    const [r, gg, b] = BARS[Math.floor(((x % g.width) * BARS.length) / g.width)];
    put(row, x * bpp, g.format, r, gg, b);
  }
  return row;
}

/** Renders frame `seq` captured at `captureNs` into `out` (≥ stride × height bytes). */
export function renderPattern(out: Uint8Array, g: PatternGeometry, bars: Uint8Array, seq: bigint, captureNs: bigint): void {
  const shiftPx = Number((seq * 4n) % BigInt(g.width)) & ~1; // even: keeps yuyv pairs aligned
  const off = shiftPx * bytesPerPixel(g.format);
  const rowBytes = g.stride;
  const src = bars.subarray(off, off + rowBytes);
  for (let y = 0; y < g.height; y++) out.set(src, y * rowBytes);
  drawBarcode(out, g, seq, captureNs);
}

function drawBarcode(out: Uint8Array, g: PatternGeometry, seq: bigint, captureNs: bigint): void {
  const bpp = bytesPerPixel(g.format);
  const c = g.cell;
  const [on, off] = cellRows(g);
  for (let bit = 0; bit < 128; bit++) {
    const word = bit < 64 ? seq : captureNs;
    const row = ((BigInt.asUintN(64, word) >> BigInt(63 - (bit % 64))) & 1n) === 1n ? on : off;
    const x0 = (bit % 32) * c * bpp;
    const cy = Math.floor(bit / 32) * c;
    for (let y = cy; y < cy + c && y < g.height; y++) out.set(row, y * g.stride + x0);
  }
}

const cellCache = new WeakMap<PatternGeometry, [Uint8Array, Uint8Array]>();
/** One row of a white cell and of a black cell in the pattern's format (a cell is `cell` pixels wide). */
function cellRows(g: PatternGeometry): [Uint8Array, Uint8Array] {
  let rows = cellCache.get(g);
  if (!rows) {
    const bpp = bytesPerPixel(g.format);
    const w = g.cell;
    const make = (v: number) => {
      const r = new Uint8Array(w * bpp);
      for (let x = 0; x < w; x += g.format === 'yuyv' ? 2 : 1) put(r, x * bpp, g.format, v, v, v);
      return r;
    };
    rows = [make(235), make(16)];
    cellCache.set(g, rows);
  }
  return rows;
}

/**
 * Reads seq and capture time back from a test-pattern frame (any of the pattern's formats).
 * Samples each cell's centre luma, so it survives mild compression.
 */
export function decodePattern(data: Uint8Array, g: PatternGeometry): { seq: bigint; captureNs: bigint } {
  const bpp = bytesPerPixel(g.format);
  const c = g.cell;
  let seq = 0n;
  let cap = 0n;
  for (let bit = 0; bit < 128; bit++) {
    const x = (bit % 32) * c + Math.floor(c / 2);
    const y = Math.floor(bit / 32) * c + Math.floor(c / 2);
    const xo = g.format === 'yuyv' ? x & ~1 : x;
    const o = y * g.stride + xo * bpp;
    const l = g.format === 'gray8' || g.format === 'yuyv' ? data[o] : luma(data[o], data[o + 1], data[o + 2]);
    const b = l > 128 ? 1n : 0n;
    if (bit < 64) seq = (seq << 1n) | b;
    else cap = (cap << 1n) | b;
  }
  return { seq: BigInt.asIntN(64, seq), captureNs: BigInt.asIntN(64, cap) };
}
