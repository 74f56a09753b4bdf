import type { SampleArray } from './ring/sample-ring.js';
import type { SampleFormat } from './ring/layout.js';

export interface Levels {
  /** RMS level per channel in dBFS (−Infinity for digital silence). */
  rmsDb: number[];
  /** Peak level per channel in dBFS. */
  peakDb: number[];
}

const FULL_SCALE: Record<SampleFormat, number> = { s16le: 32768, s32le: 2147483648, f32le: 1 };

/** RMS and peak per channel of interleaved samples, in dB relative to full scale. */
export function audioLevels(samples: SampleArray, channels: number, format: SampleFormat): Levels {
  const sum = new Float64Array(channels);
  const peak = new Float64Array(channels);
  const frames = Math.floor(samples.length / channels);
  for (let i = 0, k = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, k++) {
      const s = samples[k];
      sum[c] += s * s;
      const a = s < 0 ? -s : s;
      if (a > peak[c]) peak[c] = a;
    }
  }
  const fs = FULL_SCALE[format];
  const db = (x: number) => 20 * Math.log10(x / fs);
  return {
    rmsDb: Array.from(sum, (s) => (frames ? db(Math.sqrt(s / frames)) : -Infinity)),
    peakDb: Array.from(peak, (p) => db(p)),
  };
}
