/**
 * Level meter: RMS and peak per channel in dBFS, computed in one pass without allocating (pass `out`).
 */
import type { SampleArray } from './ring/sample-ring.js';
import type { SampleFormat } from './ring/layout.js';

/** Per-channel levels in dB relative to full scale (−Infinity for digital silence). */
export interface ChannelLevels {
  rmsDb: Float64Array;
  peakDb: Float64Array;
}

const FULL_SCALE: Record<SampleFormat, number> = { s16le: 32768, s32le: 2147483648, f32le: 1 };

/** Allocates an output for {@link levels} (reuse it across calls). */
export function createLevels(channels: number): ChannelLevels {
  return { rmsDb: new Float64Array(channels), peakDb: new Float64Array(channels) };
}

/**
 * RMS and peak level of each channel of interleaved `samples`.
 *
 * @example
 * ```ts
 * const out = createLevels(2);
 * levels(mic.read(4800).data, 2, 's16le', out); // out.rmsDb[0], out.peakDb[1] …
 * ```
 */
export function levels(samples: SampleArray, channels: number, format: SampleFormat, out: ChannelLevels = createLevels(channels)): ChannelLevels {
  const frames = Math.floor(samples.length / channels);
  const fs = FULL_SCALE[format];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let peak = 0;
    for (let k = c, i = 0; i < frames; i++, k += channels) {
      const s = samples[k];
      sum += s * s;
      const a = s < 0 ? -s : s;
      if (a > peak) peak = a;
    }
    out.rmsDb[c] = frames ? 20 * Math.log10(Math.sqrt(sum / frames) / fs) : -Infinity;
    out.peakDb[c] = 20 * Math.log10(peak / fs);
  }
  return out;
}
