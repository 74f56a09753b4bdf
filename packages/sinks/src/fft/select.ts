/**
 * Picks the FFT engine: FFTW through the addon when it loads, else the WebAssembly (PFFFT) fallback. One engine per
 * thread (and options), so plans are made once per size per worker.
 */
import { SenseflowError, oneOf } from '@senseflow/core';
import type { FftEngine } from './engine.js';
import { JsFftEngine } from './js-fft.js';
import { FftwEngine, type FftwEffort } from './native.js';

export interface FftEngineOptions {
  /** `auto` (default): FFTW if its addon loads, else JS. The env var SENSEFLOW_FFT=js|fftw overrides `auto`. */
  engine?: 'auto' | 'fftw' | 'js';
  /** FFTW planning effort (default `measure`: a few ms to ~1 s per size, once per worker). */
  effort?: FftwEffort;
}

const engines = new Map<string, FftEngine>();
let fallbackReason: SenseflowError | null = null;

/**
 * The engine for these options, shared within this thread.
 *
 * @example
 * ```ts
 * const fft = fftEngine();              // FFTW when available
 * const plan = fft.plan(4096);
 * const input = fft.alloc(8 * 4096), out = fft.alloc(8 * plan.bins * 2);
 * plan.forwardBatch(input, out, 8);     // 8 transforms, one native call
 * ```
 */
export function fftEngine(opts: FftEngineOptions = {}): FftEngine {
  let want = oneOf('engine', opts.engine ?? 'auto', ['auto', 'fftw', 'js'] as const);
  if (opts.effort !== undefined) oneOf('effort', opts.effort, ['estimate', 'measure', 'patient'] as const);
  if (want === 'auto') {
    const env = process.env.SENSEFLOW_FFT;
    if (env) want = oneOf('SENSEFLOW_FFT', env, ['fftw', 'js'] as const);
  }
  const key = `${want}:${opts.effort ?? 'measure'}`;
  let e = engines.get(key);
  if (e) return e;
  if (want === 'js') e = new JsFftEngine();
  else if (want === 'fftw') e = new FftwEngine({ effort: opts.effort });
  else {
    try {
      e = new FftwEngine({ effort: opts.effort });
    } catch (err) {
      if (!SenseflowError.isInstance(err)) throw err;
      fallbackReason = err;
      e = new JsFftEngine();
    }
  }
  engines.set(key, e);
  return e;
}

/** Why `auto` fell back to the JS engine in this thread (the addon's load error), or null. */
export function fftFallbackReason(): SenseflowError | null {
  return fallbackReason;
}
