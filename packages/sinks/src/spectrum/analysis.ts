/** Reading a spectrum frame: peaks with sub-bin frequency, and energy per band. Pure functions. */
import { InvalidOptionError, intIn } from '@senseflow/core';

/** The parts of a frame these functions read (a SpectrumFrame has them all). */
export interface SpectrumLike {
  magnitudes: Float32Array;
  frequencies: Float32Array;
  scale: 'db' | 'linear';
  channels: readonly number[];
}

export interface Peak {
  /** Bin of the local maximum. */
  bin: number;
  /** Frequency in Hz, refined between bins by a parabola through the log magnitudes. */
  frequency: number;
  /** Peak height in the frame's scale (dB or linear amplitude), refined like the frequency. */
  value: number;
}

export interface PeakOptions {
  /** Most peaks returned, highest first (default 5). */
  count?: number;
  /** Index into the frame's channels (default 0). */
  channel?: number;
  /** Ignore maxima below this, in the frame's scale (default: −120 dB, or 1e-6 linear). */
  threshold?: number;
}

function channelOf(f: SpectrumLike, channel: number): Float32Array {
  intIn('channel', channel, 0, f.channels.length - 1);
  const bins = f.frequencies.length;
  return f.magnitudes.subarray(channel * bins, (channel + 1) * bins);
}

/**
 * The highest local maxima of one channel.
 *
 * @example
 * ```ts
 * const [top] = peaks(frame, { count: 1 }); // { bin, frequency: 1000.2, value: -6.0 }
 * ```
 */
export function peaks(f: SpectrumLike, opts: PeakOptions = {}): Peak[] {
  const count = intIn('count', opts.count ?? 5, 1, 1 << 20);
  const m = channelOf(f, opts.channel ?? 0);
  const db = f.scale === 'db';
  const threshold = opts.threshold ?? (db ? -120 : 1e-6);
  const toLog = (x: number) => (db ? x : 20 * Math.log10(Math.max(x, 1e-30)));
  const found: Peak[] = [];
  const step = f.frequencies.length > 1 ? f.frequencies[1] - f.frequencies[0] : 0;
  for (let k = 0; k < m.length; k++) {
    const b = m[k];
    if (b < threshold) continue;
    const left = k > 0 ? m[k - 1] : -Infinity;
    const right = k < m.length - 1 ? m[k + 1] : -Infinity;
    if (!(b > left && b >= right)) continue;
    let delta = 0;
    let height = toLog(b);
    if (k > 0 && k < m.length - 1) {
      const a = toLog(left), c = toLog(right), bb = toLog(b);
      const den = a - 2 * bb + c;
      if (den < 0) {
        delta = (0.5 * (a - c)) / den;
        height = bb - 0.25 * (a - c) * delta;
      }
    }
    found.push({ bin: k, frequency: f.frequencies[k] + delta * step, value: db ? height : 10 ** (height / 20) });
  }
  found.sort((x, y) => y.value - x.value);
  return found.slice(0, count);
}

export interface BandEnergies {
  /** [low, high) in Hz per band. */
  bands: [number, number][];
  /** Sum of squared bin amplitudes in each band (linear power, full scale = 1). */
  power: Float64Array;
  /** The same in dB (10·log10, floored at −400). */
  db: Float64Array;
}

/** Octave bands centred on 31.5 Hz · 2^k (ISO 266), up to `nyquist`: [fc/√2, fc·√2). */
export function octaveBands(nyquist: number): [number, number][] {
  const out: [number, number][] = [];
  for (let fc = 31.25; fc * Math.SQRT1_2 < nyquist; fc *= 2) out.push([fc * Math.SQRT1_2, Math.min(fc * Math.SQRT2, nyquist + 1e-9)]);
  return out;
}

/**
 * Energy per frequency band of one channel.
 *
 * @example
 * ```ts
 * const { db } = bandEnergies(frame, [[20, 250], [250, 4000], [4000, 20000]]);
 * ```
 */
export function bandEnergies(f: SpectrumLike, bands: [number, number][] | 'octave', opts: { channel?: number } = {}): BandEnergies {
  const m = channelOf(f, opts.channel ?? 0);
  const freqs = f.frequencies;
  const list = bands === 'octave' ? octaveBands(freqs[freqs.length - 1]) : bands;
  if (!Array.isArray(list) || list.some((b) => !Array.isArray(b) || b.length !== 2 || !(b[0] < b[1])))
    throw new InvalidOptionError('bands', "'octave' or a list of [low, high) pairs in Hz with low < high", bands);
  const power = new Float64Array(list.length);
  const db = new Float64Array(list.length);
  list.forEach(([lo, hi], i) => {
    let p = 0;
    for (let k = 0; k < m.length; k++) {
      if (freqs[k] < lo || freqs[k] >= hi) continue;
      const a = f.scale === 'db' ? 10 ** (m[k] / 20) : m[k];
      p += a * a;
    }
    power[i] = p;
    db[i] = p > 0 ? Math.max(-400, 10 * Math.log10(p)) : -400;
  });
  return { bands: list.map(([lo, hi]) => [lo, hi]), power, db };
}
