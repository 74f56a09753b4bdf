/**
 * Window functions, periodic ("DFT-even") form: w[i] for i = 0 … n−1 over a period of n, which is what
 * spectral analysis with overlapping hops wants (a Hann window at hop n/2 sums to a constant).
 */
import { oneOf } from '@senseflow/core';

export const WINDOW_NAMES = ['hann', 'hamming', 'blackman', 'rect'] as const;
export type WindowName = (typeof WINDOW_NAMES)[number];

/**
 * The window's n coefficients.
 *
 * @example
 * ```ts
 * const w = makeWindow('hann', 1024); // w[0] = 0, w[512] = 1
 * ```
 */
export function makeWindow(name: WindowName, n: number): Float32Array {
  oneOf('window', name, WINDOW_NAMES);
  const w = new Float32Array(n);
  const k = (2 * Math.PI) / n;
  for (let i = 0; i < n; i++) {
    const c1 = Math.cos(k * i);
    w[i] =
      name === 'hann' ? 0.5 - 0.5 * c1
      : name === 'hamming' ? 0.54 - 0.46 * c1
      : name === 'blackman' ? 0.42 - 0.5 * c1 + 0.08 * Math.cos(2 * k * i)
      : 1;
  }
  return w;
}

/** Sum of the coefficients (the window's coherent gain × n): a sine of amplitude A peaks at A·sum/2. */
export function windowSum(w: Float32Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i];
  return s;
}

/** Sum of squares (the window's energy): noise power scales with it. */
export function windowEnergy(w: Float32Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * w[i];
  return s;
}
