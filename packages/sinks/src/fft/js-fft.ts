/**
 * The fallback engine where the FFTW addon is missing: PFFFT (Julien Pommier's SIMD FFT) compiled to
 * WebAssembly with SIMD, from the `@echogarden/pffft-wasm` package — the fastest of the npm FFTs measured
 * in bench/fft.bench.mjs (5–10× our former hand-written JS FFT, 4–6× fft.js; docs/spectrum.md). Single precision, like FFTW.
 *
 * The WASM module is instantiated once per thread when this module is first imported (top-level await, a
 * few ms), so `plan()` stays synchronous. Each plan owns its input/output/work buffers in the module's
 * heap; inputs are copied (and windowed) into the heap, transformed, and read back out.
 */
import { NativeError } from '@senseflow/core';
import type { FftEngine, FftPlan, MagnitudeOptions, RingJob, RingLayout, RingWindows } from './engine.js';
import { checkForward, checkMagnitudes, checkRing, checkRingRun, checkSize, magnitudeParams, type MagnitudeParams } from './checks.js';
import { loadPffft, type PffftModule } from './pffft-module.js';

const PFFFT_REAL = 0;
const PFFFT_FORWARD = 0;
/** PFFFT's SIMD real transform needs N to be a multiple of 32; smaller sizes use a direct DFT. */
const PFFFT_MIN_REAL = 32;

const pffft: PffftModule | Error = await loadPffft().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));

function wasm(): PffftModule {
  if (pffft instanceof Error) throw new NativeError(`the JS FFT engine could not load @echogarden/pffft-wasm: ${pffft.message}`, { cause: pffft.message });
  return pffft;
}

class JsPlan implements FftPlan {
  readonly engine = 'js' as const;
  readonly bins: number;
  private readonly m: PffftModule;
  private readonly setup: number;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly workPtr: number;
  /** n ≥ 32: PFFFT's ordered output in the heap; n = 16: the spectrum of a direct DFT here (re, im, …). */
  private readonly small: Float64Array | null;
  private readonly smallIn: Float64Array | null;

  constructor(readonly size: number) {
    this.bins = size / 2 + 1;
    this.m = wasm();
    if (size >= PFFFT_MIN_REAL) {
      this.setup = this.m._pffft_new_setup(size, PFFFT_REAL);
      this.inPtr = this.m._pffft_aligned_malloc(size * 4);
      this.outPtr = this.m._pffft_aligned_malloc(size * 4);
      this.workPtr = this.m._pffft_aligned_malloc(size * 4);
      if (!this.setup || !this.inPtr || !this.outPtr || !this.workPtr) throw new NativeError(`PFFFT could not set up a ${size}-point transform`, { size });
      this.small = this.smallIn = null;
    } else {
      this.setup = this.inPtr = this.outPtr = this.workPtr = 0;
      this.small = new Float64Array(2 * this.bins);
      this.smallIn = new Float64Array(size);
    }
  }

  forwardBatch(input: Float32Array, output: Float32Array, k: number): void {
    checkForward(this, input, output, k);
    const { size: n, bins } = this;
    for (let t = 0; t < k; t++) {
      this.load().set(input.subarray(t * n, (t + 1) * n));
      const [s, base] = this.transform();
      const o = t * bins * 2;
      // PFFFT's ordered real layout: [X0.re, X(n/2).re, X1.re, X1.im, …]; ours: (re, im) for bins 0 … n/2.
      output.set(s.subarray(base, base + n), o);
      output[o + n] = s[base + 1];
      output[o + 1] = 0;
      output[o + n + 1] = 0;
    }
  }

  magnitudesBatch(input: Float32Array, output: Float32Array, k: number, opts: MagnitudeOptions = {}): void {
    checkMagnitudes(this, input, output, k, opts);
    const p = magnitudeParams(opts);
    const w = opts.window ?? null;
    const n = this.size;
    for (let t = 0; t < k; t++) {
      const x = this.load();
      const src = t * n;
      if (w) for (let i = 0; i < n; i++) x[i] = input[src + i] * w[i];
      else x.set(input.subarray(src, src + n));
      this.writeMagnitudes(output, t * this.bins, p);
    }
  }

  ringBatch(r: RingWindows, output: Float32Array, opts: MagnitudeOptions = {}): void {
    checkRing(this, r, output, opts);
    this.ringInto(r, r.startPos, r.count, output, magnitudeParams(opts), opts.window ?? null);
  }

  ringJob(r: RingLayout, opts: MagnitudeOptions = {}): RingJob {
    checkRing(this, { ...r, startPos: 0, count: 0 }, new Float32Array(0), opts);
    const p = magnitudeParams(opts);
    const w = opts.window ?? null;
    return {
      run: (startPos, count, output) => {
        checkRingRun(this, r, startPos, count, output);
        this.ringInto(r, startPos, count, output, p, w);
      },
    };
  }

  private ringInto(r: RingLayout, startPos: number, count: number, output: Float32Array, p: MagnitudeParams, w: Float32Array | null): void {
    const n = this.size;
    const { samples, capacityFrames: cap, channels: chs, chans } = r;
    let item = 0;
    for (let j = 0; j < count; j++) {
      const pos = (startPos + ((j * r.hop) % cap)) % cap;
      const first = Math.min(n, cap - pos);
      for (let c = 0; c < chans.length; c++, item++) {
        const ch = chans[c];
        const x = this.load();
        for (let i = 0; i < first; i++) x[i] = samples[(pos + i) * chs + ch];
        for (let i = first; i < n; i++) x[i] = samples[(i - first) * chs + ch];
        if (w) for (let i = 0; i < n; i++) x[i] *= w[i];
        this.writeMagnitudes(output, item * this.bins, p);
      }
    }
  }

  /** Where the next input goes: the plan's buffer in the WASM heap (a fresh view: the heap may have grown). */
  private load(): Float32Array | Float64Array {
    if (this.smallIn) return this.smallIn;
    return this.m.HEAPF32.subarray(this.inPtr >> 2, (this.inPtr >> 2) + this.size);
  }

  /** Transforms the loaded input; returns the array holding the ordered spectrum and its start index. */
  private transform(): [Float32Array | Float64Array, number] {
    if (this.small) {
      directDft(this.smallIn as Float64Array, this.small);
      return [this.small, 0];
    }
    this.m._pffft_transform_ordered(this.setup, this.inPtr, this.outPtr, this.workPtr, PFFFT_FORWARD);
    return [this.m.HEAPF32, this.outPtr >> 2];
  }

  private writeMagnitudes(out: Float32Array, o: number, p: MagnitudeParams): void {
    const [s, base] = this.transform();
    const m = this.size >> 1;
    const g2 = p.gain * p.gain;
    const e2 = p.edgeGain * p.edgeGain;
    // Power first (DC and Nyquist sit at the front of PFFFT's layout), then one pass for the scale.
    out[o] = s[base] * s[base] * e2;
    out[o + m] = s[base + 1] * s[base + 1] * e2;
    for (let b = 1, i = base + 2; b < m; b++, i += 2) out[o + b] = (s[i] * s[i] + s[i + 1] * s[i + 1]) * g2;
    const end = o + m + 1;
    if (p.kind === 0) for (let b = o; b < end; b++) out[b] = Math.sqrt(out[b]);
    else if (p.kind === 2) {
      const { floorPower, floorDb } = p;
      for (let b = o; b < end; b++) out[b] = out[b] > floorPower ? 10 * Math.log10(out[b]) : floorDb;
    }
  }
}

/** The direct DFT of a tiny input (n < 32) in PFFFT's ordered layout. */
function directDft(x: Float64Array, out: Float64Array): void {
  const n = x.length;
  const m = n >> 1;
  for (let k = 0; k <= m; k++) {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      re += x[t] * Math.cos(a);
      im += x[t] * Math.sin(a);
    }
    if (k === 0) out[0] = re;
    else if (k === m) out[1] = re;
    else {
      out[2 * k] = re;
      out[2 * k + 1] = im;
    }
  }
}

/** The fallback engine (PFFFT in WebAssembly). Plans are cached per engine (one engine per thread). */
export class JsFftEngine implements FftEngine {
  readonly name = 'js' as const;
  readonly description = 'PFFFT (WebAssembly SIMD, @echogarden/pffft-wasm)';
  private readonly plans = new Map<number, JsPlan>();

  constructor() {
    wasm(); // fail here, with the reason, rather than at the first plan
  }

  plan(n: number): FftPlan {
    checkSize(n);
    let p = this.plans.get(n);
    if (!p) this.plans.set(n, (p = new JsPlan(n)));
    return p;
  }

  alloc(length: number): Float32Array {
    return new Float32Array(length);
  }
}
