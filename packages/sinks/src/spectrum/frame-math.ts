/** The pure arithmetic of a spectrogram: hop schedule, frequency axis, and amplitude calibration. */
import type { SampleFormat } from '@senseflow/core';
import { windowSum } from '../fft/window.js';

/** Bin centre frequencies in Hz: k · rate / size for k = 0 … size/2. */
export function frequencyAxis(size: number, rate: number): Float32Array {
  const f = new Float32Array(size / 2 + 1);
  for (let k = 0; k < f.length; k++) f[k] = (k * rate) / size;
  return f;
}

/** The value that reads as 1.0 (0 dBFS): integer formats are used unscaled by the FFT. */
export function fullScale(format: SampleFormat): number {
  return format === 's16le' ? 32768 : format === 's32le' ? 2 ** 31 : 1;
}

/**
 * Gains that make a magnitude spectrum read in amplitude: a sine of amplitude A (relative to full scale)
 * centred on a bin reads A there (0 dBFS for a full-scale sine), whatever the window. One-sided spectrum:
 * interior bins count twice, DC and Nyquist once.
 */
export function amplitudeGains(window: Float32Array, format: SampleFormat): { gain: number; edgeGain: number } {
  const s = windowSum(window) * fullScale(format);
  return { gain: 2 / s, edgeGain: 1 / s };
}

/** The first hop to compute when attaching: the first whole hop after `framesWritten` (`now`) or the oldest still held. */
export function firstHop(from: 'now' | 'oldest', framesWritten: bigint, validFrom: bigint, hop: number): bigint {
  const h = BigInt(hop);
  const at = from === 'now' ? framesWritten : validFrom;
  return (at + h - 1n) / h;
}

/** Hop indices below this one have every sample written: window h covers frames [h·hop, h·hop + size). */
export function readyHopEnd(framesWritten: bigint, size: number, hop: number): bigint {
  const s = BigInt(size);
  return framesWritten < s ? 0n : (framesWritten - s) / BigInt(hop) + 1n;
}

/** Smallest hop whose window is still wholly in the ring (not being overwritten). */
export function oldestValidHop(validFrom: bigint, hop: number): bigint {
  const h = BigInt(hop);
  return (validFrom + h - 1n) / h;
}
