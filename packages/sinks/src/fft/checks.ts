/**
 * Argument checks shared by both engines: TypeScript names the bad parameter before anything reaches
 * native code (which only guards against crashes).
 */
import { InvalidOptionError } from '@senseflow/core';
import { MAX_FFT_SIZE, MIN_FFT_SIZE, type FftPlan, type MagnitudeOptions, type RingLayout, type RingWindows } from './engine.js';

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function checkSize(n: unknown, param = 'size'): number {
  if (typeof n !== 'number' || !isPowerOfTwo(n) || n < MIN_FFT_SIZE || n > MAX_FFT_SIZE)
    throw new InvalidOptionError(param, `a power of two from ${MIN_FFT_SIZE} to ${MAX_FFT_SIZE}`, n);
  return n;
}

function checkCount(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) throw new InvalidOptionError('k', 'a non-negative integer', k);
  return k;
}

function checkF32(param: string, a: unknown, min: number): void {
  if (!(a instanceof Float32Array)) throw new InvalidOptionError(param, 'a Float32Array', a === null ? null : typeof a);
  if (a.length < min) throw new InvalidOptionError(param, `a Float32Array of at least ${min} values`, `${a.length} values`);
}

export function checkForward(p: FftPlan, input: unknown, output: unknown, k: unknown): void {
  const n = checkCount(k);
  checkF32('input', input, n * p.size);
  checkF32('output', output, n * p.bins * 2);
}

function checkMagOpts(p: FftPlan, o: MagnitudeOptions): void {
  if (o.window != null) checkF32('window', o.window, p.size);
  if (o.kind !== undefined && !['amplitude', 'power', 'db'].includes(o.kind))
    throw new InvalidOptionError('kind', 'one of amplitude, power, db', o.kind);
  for (const key of ['gain', 'edgeGain', 'floorDb'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw new InvalidOptionError(key, 'a finite number', v);
  }
}

export function checkMagnitudes(p: FftPlan, input: unknown, output: unknown, k: unknown, o: MagnitudeOptions): void {
  const n = checkCount(k);
  checkF32('input', input, n * p.size);
  checkF32('output', output, n * p.bins);
  checkMagOpts(p, o);
}

export function checkRing(p: FftPlan, r: RingWindows, output: unknown, o: MagnitudeOptions): void {
  const s = r.samples;
  if (!(s instanceof Int16Array || s instanceof Int32Array || s instanceof Float32Array))
    throw new InvalidOptionError('samples', 'an Int16Array, Int32Array or Float32Array', typeof s);
  if (!Number.isInteger(r.channels) || r.channels < 1) throw new InvalidOptionError('channels', 'an integer ≥ 1', r.channels);
  if (!Number.isInteger(r.capacityFrames) || r.capacityFrames < p.size || s.length < r.capacityFrames * r.channels)
    throw new InvalidOptionError('capacityFrames', `an integer from ${p.size} (the FFT size) to the ring's length`, r.capacityFrames);
  if (!(r.chans instanceof Int32Array) || r.chans.some((c) => c < 0 || c >= r.channels))
    throw new InvalidOptionError('chans', `an Int32Array of channel indices below ${r.channels}`, r.chans);
  if (!Number.isInteger(r.startPos) || r.startPos < 0 || r.startPos >= r.capacityFrames)
    throw new InvalidOptionError('startPos', `an integer from 0 to ${r.capacityFrames - 1}`, r.startPos);
  if (!Number.isInteger(r.hop) || r.hop < 1) throw new InvalidOptionError('hop', 'an integer ≥ 1', r.hop);
  checkCount(r.count);
  checkF32('output', output, r.count * r.chans.length * p.bins);
  checkMagOpts(p, o);
}

/** The per-run checks of a {@link RingJob}: the position, count and output (the rest was checked once). */
export function checkRingRun(p: FftPlan, r: RingLayout, startPos: number, count: number, output: Float32Array): void {
  // One comparison chain on the hot path; the full checks (which name the bad parameter) only when it fails.
  if (Number.isInteger(startPos) && startPos >= 0 && startPos < r.capacityFrames && Number.isInteger(count) && count >= 0 && output instanceof Float32Array && output.length >= count * r.chans.length * p.bins)
    return;
  checkRing(p, { ...r, startPos, count }, output, {});
}

export interface MagnitudeParams {
  /** 0 amplitude, 1 power, 2 dB (the native addon's codes). */
  kind: 0 | 1 | 2;
  gain: number;
  edgeGain: number;
  floorDb: number;
  floorPower: number;
}

export function magnitudeParams(o: MagnitudeOptions): MagnitudeParams {
  const gain = o.gain ?? 1;
  const floorDb = o.floorDb ?? -200;
  return {
    kind: o.kind === 'power' ? 1 : o.kind === 'db' ? 2 : 0,
    gain,
    edgeGain: o.edgeGain ?? gain,
    floorDb,
    floorPower: 10 ** (floorDb / 10),
  };
}
