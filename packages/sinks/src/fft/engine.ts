/**
 * The FFT engine contract: real, single-precision, forward transforms of power-of-two sizes, in batches so
 * one call into native code covers many transforms (a call costs ~0.3–0.4 µs, a 1024-point FFT ~0.8 µs on the
 * reference VM: docs/spectrum.md).
 * Two implementations: FFTW through the native addon ({@link ./native.ts}) and a PFFFT (WebAssembly) fallback
 * ({@link ./js-fft.ts}). Both produce the same numbers to float tolerance.
 */
import type { SampleArray } from '@senseflow/core';

export type FftEngineName = 'fftw' | 'js';

/** What a magnitude pass produces per bin: |X|·gain, (|X|·gain)², or 10·log10((|X|·gain)²) floored. */
export type MagnitudeKind = 'amplitude' | 'power' | 'db';

export interface MagnitudeOptions {
  /** Multiplied into each transform's input first (length = size). Null or absent = rectangular. */
  window?: Float32Array | null;
  kind?: MagnitudeKind;
  /** Amplitude scale for bins 1 … size/2 − 1 (default 1). */
  gain?: number;
  /** Amplitude scale for the DC and Nyquist bins (default = gain). */
  edgeGain?: number;
  /** Lowest value a `db` pass writes (default −200). */
  floorDb?: number;
}

/** Where the windows of {@link FftPlan.ringBatch} sit in an interleaved sample ring. */
export interface RingWindows {
  /** The ring's sample array (all of it, interleaved): Int16Array, Int32Array or Float32Array. */
  samples: SampleArray;
  capacityFrames: number;
  channels: number;
  /** Channels to transform, in output order. */
  chans: Int32Array;
  /** Ring position (frame index mod capacity) of the first window's first frame. */
  startPos: number;
  /** Frames between window starts. */
  hop: number;
  /** Windows to transform. */
  count: number;
}

/** A ring's layout without the window positions: what {@link FftPlan.ringJob} fixes once. */
export type RingLayout = Omit<RingWindows, 'startPos' | 'count'>;

/** A {@link FftPlan.ringBatch} bound to one ring, its options checked once (for a loop that runs it per hop). */
export interface RingJob {
  /** Same as `ringBatch({ ...layout, startPos, count }, output, opts)`. */
  run(startPos: number, count: number, output: Float32Array): void;
}

export interface FftPlan {
  readonly engine: FftEngineName;
  /** Transform size n (real samples in). */
  readonly size: number;
  /** Output bins: n/2 + 1 (DC … Nyquist). */
  readonly bins: number;
  /**
   * `k` transforms: `input` holds k × n reals back to back, `output` receives k × bins complex values
   * interleaved (re, im), unnormalized (as FFTW and numpy.fft.rfft). For the native engine, arrays from
   * {@link FftEngine.alloc} go straight to FFTW; other arrays are copied through aligned buffers.
   */
  forwardBatch(input: Float32Array, output: Float32Array, k: number): void;
  /** `k` windowed magnitude spectra (k × bins values) in one pass: window → FFT → |X| (→ dB). */
  magnitudesBatch(input: Float32Array, output: Float32Array, k: number, opts?: MagnitudeOptions): void;
  /**
   * Magnitude spectra of windows read straight out of an interleaved ring (no copy of the ring first):
   * output[(j × chans.length + c) × bins …] is window j of channel chans[c]. Integer samples are used
   * as they are (fold the full-scale factor into `gain`).
   */
  ringBatch(r: RingWindows, output: Float32Array, opts?: MagnitudeOptions): void;
  /**
   * {@link ringBatch} with the ring and options checked and resolved once: each `run()` only checks its
   * position, count and output. A live spectrum runs a few dozen hops a second, too few for V8 to optimize
   * the full checks; this keeps per-hop JavaScript to a handful of comparisons.
   */
  ringJob(r: RingLayout, opts?: MagnitudeOptions): RingJob;
}

export interface FftEngine {
  readonly name: FftEngineName;
  /** A plan for size n (a power of two, 16 … 2^22), created once and cached by this engine. */
  plan(n: number): FftPlan;
  /** A Float32Array laid out the way this engine's plans read fastest (64-byte aligned for FFTW). */
  alloc(length: number): Float32Array;
  /** Free-form description (library version, SIMD flavor). */
  readonly description: string;
}

export const MIN_FFT_SIZE = 16;
export const MAX_FFT_SIZE = 1 << 22;
