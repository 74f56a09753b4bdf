/**
 * Mode negotiation: a pure function from what a camera offers and what the user asked for to one capture
 * mode, with a sentence saying why. Deterministic: the same inputs always give the same choice.
 */
import { UnsupportedFormatError } from '@senseflow/core';
import { CONVERTED_OUTPUTS, canProduce, conversionKind } from './pixel-format.js';

export interface Fraction {
  num: number;
  den: number;
}

/** One (format, size) a device offers, with its frame intervals. */
export interface CaptureMode {
  /** Device-native format name (`yuyv`, `mjpeg`, `nv12`, …). */
  pixelFormat: string;
  /** Its V4L2 FourCC (`YUYV`, `MJPG`, …). */
  fourcc: string;
  width: number;
  height: number;
  /** Frame intervals in seconds (num/den), fastest first. Empty when the driver does not say. */
  intervals: Fraction[];
}

export interface ModeRequest {
  width?: number;
  height?: number;
  fps?: number;
  /** Output format: a device-native name (passthrough) or a converted one (`rgb24`, `bgr24`, `gray8`, `rgba`). */
  pixelFormat?: string;
  /** Device format to capture in (`yuyv`, `mjpeg`, …) when the route matters; default: chosen by preference. */
  captureFormat?: string;
}

export interface NegotiatedMode {
  /** What the device is set to. */
  native: { pixelFormat: string; fourcc: string; width: number; height: number };
  /** Frame interval to request with S_PARM (null when the device lists none). */
  interval: Fraction | null;
  /** Nominal frames per second (0 when unknown). */
  fps: number;
  /** Format of the items in the ring. */
  output: string;
  conversion: 'passthrough' | 'convert' | 'decode';
  /** Why this mode was chosen, for `spec.notes`. */
  explanation: string;
}

/** Size used when the request names none: the classic webcam default. */
export const DEFAULT_SIZE = { width: 640, height: 480 } as const;

/** Preference among device formats when the request leaves it open (cheap to use first). */
const FORMAT_RANK = ['yuyv', 'uyvy', 'nv12', 'nv21', 'grey', 'rgb24', 'bgr24', 'mjpeg', 'jpeg'];
const CONVERSION_RANK = { passthrough: 0, convert: 1, decode: 2 } as const;

export const fpsOf = (iv: Fraction): number => (iv.num > 0 ? iv.den / iv.num : 0);

/** `25`, `29.97`, `12.5`. */
export const formatFps = (fps: number): string => String(Math.round(fps * 100) / 100);

/** `640x480@25fps yuyv` */
export const describeMode = (m: { width: number; height: number; pixelFormat: string }, fps: number): string =>
  `${m.width}x${m.height}${fps > 0 ? `@${formatFps(fps)}fps` : ''} ${m.pixelFormat}`;

/** Frame rates within 1 % (or 0.05 fps) count as equal: 30 matches 30000/1001. */
const fpsMatches = (have: number, want: number) => Math.abs(have - want) <= Math.max(0.01 * want, 0.05);

interface Option {
  mode: CaptureMode;
  interval: Fraction | null;
  fps: number;
}

const sizeDistance = (w: number, h: number, rw: number, rh: number) => Math.abs(Math.log(w / rw)) + Math.abs(Math.log(h / rh));

function rankFormat(name: string): number {
  const i = FORMAT_RANK.indexOf(name);
  return i < 0 ? FORMAT_RANK.length : i;
}

function closest(options: Option[], req: ModeRequest, limit = 5): string[] {
  const score = (o: Option) =>
    (req.width ? Math.abs(Math.log(o.mode.width / req.width)) : 0) +
    (req.height ? Math.abs(Math.log(o.mode.height / req.height)) : 0) +
    (req.fps && o.fps > 0 ? Math.abs(Math.log(o.fps / req.fps)) : req.fps ? 1 : 0) +
    (req.pixelFormat && !canProduce(o.mode.pixelFormat, req.pixelFormat) ? 10 : 0) +
    (req.captureFormat && o.mode.pixelFormat !== req.captureFormat ? 10 : 0);
  const sorted = [...options].sort((a, b) => score(a) - score(b) || compareStable(a, b));
  const out: string[] = [];
  for (const o of sorted) {
    const d = describeMode(o.mode, o.fps);
    if (!out.includes(d)) out.push(d);
    if (out.length >= limit) break;
  }
  return out;
}

function compareStable(a: Option, b: Option): number {
  return (
    rankFormat(a.mode.pixelFormat) - rankFormat(b.mode.pixelFormat) ||
    a.mode.fourcc.localeCompare(b.mode.fourcc) ||
    b.mode.width * b.mode.height - a.mode.width * a.mode.height ||
    b.mode.width - a.mode.width ||
    b.fps - a.fps
  );
}

function fail(what: string, options: Option[], req: ModeRequest): never {
  const choices = closest(options, req);
  throw new UnsupportedFormatError(`${what}. Closest modes: ${choices.join(', ')}`, { request: { ...req }, choices });
}

/**
 * Picks a capture mode. Requested fields are hard constraints (size exact, fps within 1 %, format
 * producible); the rest is filled by preference: size closest to 640x480, then the highest frame rate,
 * then the cheapest route to the output format (passthrough, then conversion, then JPEG decode).
 *
 * @throws UnsupportedFormatError listing the closest modes when nothing satisfies the request.
 * @example
 * ```ts
 * const m = negotiate(camera.modes, { width: 640, height: 480, fps: 25, pixelFormat: 'rgb24' });
 * m.native; // { pixelFormat: 'yuyv', fourcc: 'YUYV', width: 640, height: 480 }
 * m.explanation; // 'yuyv 640x480@25fps converted to rgb24: …'
 * ```
 */
export function negotiate(modes: readonly CaptureMode[], req: ModeRequest = {}): NegotiatedMode {
  const all: Option[] = modes.flatMap((mode): Option[] =>
    mode.intervals.length > 0 ? mode.intervals.map((interval) => ({ mode, interval, fps: fpsOf(interval) })) : [{ mode, interval: null, fps: 0 }],
  );
  if (all.length === 0) throw new UnsupportedFormatError('the device offers no capture modes', { request: { ...req }, choices: [] });
  const reasons: string[] = [];

  let pool = all;
  if (req.captureFormat !== undefined) {
    const cf = req.captureFormat;
    pool = pool.filter((o) => o.mode.pixelFormat === cf);
    if (pool.length === 0)
      throw new UnsupportedFormatError(`the device does not capture in '${cf}' (it offers ${[...new Set(modes.map((m) => m.pixelFormat))].join(', ')})`, {
        request: { ...req },
        choices: [...new Set(modes.map((m) => m.pixelFormat))],
      });
    if (req.pixelFormat !== undefined && !canProduce(cf, req.pixelFormat))
      throw new UnsupportedFormatError(`cannot turn '${cf}' into '${req.pixelFormat}'`, {
        request: { ...req },
        choices: [cf, ...CONVERTED_OUTPUTS.filter((c) => canProduce(cf, c))],
      });
    reasons.push(`captured as ${cf} as requested`);
  }
  if (req.pixelFormat !== undefined) {
    const out = req.pixelFormat;
    pool = pool.filter((o) => canProduce(o.mode.pixelFormat, out));
    if (pool.length === 0) {
      const native = [...new Set(modes.map((m) => m.pixelFormat))];
      const reachable = [...new Set([...native, ...CONVERTED_OUTPUTS.filter((c) => native.some((n) => canProduce(n, c)))])];
      throw new UnsupportedFormatError(
        `cannot produce pixelFormat '${out}' from this device (it offers ${native.join(', ')}; senseflow can deliver ${reachable.join(', ')})`,
        { request: { ...req }, choices: reachable },
      );
    }
  }
  if (req.width !== undefined || req.height !== undefined) {
    const next = pool.filter((o) => (req.width === undefined || o.mode.width === req.width) && (req.height === undefined || o.mode.height === req.height));
    if (next.length === 0) fail(`no mode with size ${req.width ?? '*'}x${req.height ?? '*'}${req.pixelFormat ? ` for ${req.pixelFormat}` : ''}`, pool, req);
    pool = next;
    reasons.push(`size ${req.width ?? '*'}x${req.height ?? '*'} as requested`);
  }
  if (req.fps !== undefined) {
    const want = req.fps;
    const next = pool.filter((o) => o.fps > 0 && fpsMatches(o.fps, want));
    if (next.length === 0) fail(`no mode at ${formatFps(want)} fps with the requested size and format`, pool, req);
    pool = next;
    reasons.push(`${formatFps(want)} fps as requested`);
  }

  const sizeOpen = req.width === undefined || req.height === undefined;
  const output = (o: Option) => req.pixelFormat ?? o.mode.pixelFormat;
  const target = { width: req.width ?? DEFAULT_SIZE.width, height: req.height ?? DEFAULT_SIZE.height };
  const ranked = [...pool].sort(
    (a, b) =>
      (sizeOpen
        ? sizeDistance(a.mode.width, a.mode.height, target.width, target.height) - sizeDistance(b.mode.width, b.mode.height, target.width, target.height)
        : 0) ||
      (req.fps === undefined ? b.fps - a.fps : 0) ||
      (req.pixelFormat !== undefined
        ? CONVERSION_RANK[conversionKind(a.mode.pixelFormat, output(a))] - CONVERSION_RANK[conversionKind(b.mode.pixelFormat, output(b))]
        : 0) ||
      compareStable(a, b),
  );
  const best = ranked[0];
  if (sizeOpen) reasons.push(`size closest to ${target.width}x${target.height}`);
  if (req.fps === undefined && best.fps > 0) reasons.push('highest frame rate for that size');
  const formats = new Set(pool.filter((o) => o.mode.width === best.mode.width && o.mode.height === best.mode.height).map((o) => o.mode.pixelFormat));
  if (formats.size > 1) reasons.push(`${best.mode.pixelFormat} preferred over ${[...formats].filter((f) => f !== best.mode.pixelFormat).join(', ')}`);

  const out = output(best);
  const conversion = conversionKind(best.mode.pixelFormat, out);
  const how = conversion === 'passthrough' ? 'passed through' : conversion === 'decode' ? `decoded to ${out}` : `converted to ${out}`;
  return {
    native: { pixelFormat: best.mode.pixelFormat, fourcc: best.mode.fourcc, width: best.mode.width, height: best.mode.height },
    interval: best.interval,
    fps: best.fps,
    output: out,
    conversion,
    explanation: `${describeMode(best.mode, best.fps)} ${how}: ${reasons.join('; ')}`,
  };
}
