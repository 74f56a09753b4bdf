/**
 * The one place that loads the FFTW addon, and the FFTW engine built on it. `node-gyp-build` picks
 * `native/build/Release/senseflow_fft.node` when it was compiled here, else the prebuild for this platform
 * and CPU (`native/prebuilds/linux-x64|linux-arm64/`). The addon is context-aware: each worker that calls {@link fftwAddon} gets its own instance
 * (plans are cached per worker; FFTW's planner is serialized process-wide inside the addon).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeError } from '@senseflow/core';
import type { FftEngine, FftPlan, MagnitudeOptions, RingJob, RingLayout, RingWindows } from './engine.js';
import { checkForward, checkMagnitudes, checkRing, checkRingRun, checkSize, magnitudeParams } from './checks.js';

/** The addon's surface (see native/fft.cc). */
interface NativePlan {
  forward(input: Float32Array, output: Float32Array, k: number): void;
  magnitudes(input: Float32Array, output: Float32Array, k: number, window: Float32Array | null, mode: number, gain: number, edgeGain: number, floorDb: number): void;
  gather(
    src: Int16Array | Int32Array | Float32Array,
    capacityFrames: number,
    channels: number,
    chans: Int32Array,
    startPos: number,
    hop: number,
    count: number,
    window: Float32Array | null,
    mode: number,
    gain: number,
    edgeGain: number,
    floorDb: number,
    output: Float32Array,
  ): void;
  dispose(): void;
}

export interface FftwAddon {
  /** new Plan(n, batch, effort): effort 0 = FFTW_ESTIMATE, 1 = FFTW_MEASURE, 2 = FFTW_PATIENT. */
  Plan: new (n: number, batch: number, effort: number) => NativePlan;
  /** The address of a typed array's first byte, modulo 64. */
  alignmentOf(a: ArrayBufferView): number;
  version(): string;
  exportWisdom(): string | null;
  importWisdom(wisdom: string): boolean;
}

let addon: FftwAddon | undefined;

/** The FFTW addon, loaded on first call in this thread. Throws {@link NativeError} saying what to do when it cannot load. */
export function fftwAddon(): FftwAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  // dist/*.js sits one level below the package root, src/fft/native.ts two.
  const load = require('node-gyp-build') as (dir: string) => unknown;
  const candidates = ['../native', '../../native'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const reasons: string[] = [];
  for (const path of candidates) {
    try {
      addon = load(path) as FftwAddon;
      return addon;
    } catch (e) {
      reasons.push(`${path}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new NativeError(
    `could not load the FFTW addon:\n  ${reasons.join('\n  ')}\n` +
      'Possible solutions:\n' +
      '- install FFTW (single precision): apt-get install libfftw3-single3 (the prebuilt addon links against it)\n' +
      '- no prebuild for this platform: install build-essential and libfftw3-dev, then npm rebuild @senseflow/sinks\n' +
      '  (in this repo: pnpm --filter @senseflow/sinks build)\n' +
      '- check that the addon was built for this Node.js (node -p process.versions.modules)\n' +
      '- or use the WebAssembly (PFFFT) fallback: fftEngine({ engine: "js" }) or SENSEFLOW_FFT=js',
    { candidates, reasons },
  );
}

/**
 * Transforms per FFTW execute (plan_many). One: a single-transform plan run row by row (new-array execute)
 * measured 20–30 % faster than a 4-row plan_many at N = 256 … 1024 and within 10 % at 2048 (C, same
 * process, median of 41 rounds, 2026-12-03); above, one per transform was already best.
 */
function batchFor(_n: number): number {
  return 1;
}

export type FftwEffort = 'estimate' | 'measure' | 'patient';

class FftwPlan implements FftPlan {
  readonly engine = 'fftw' as const;
  readonly bins: number;

  constructor(
    readonly size: number,
    private readonly p: NativePlan,
  ) {
    this.bins = size / 2 + 1;
  }

  forwardBatch(input: Float32Array, output: Float32Array, k: number): void {
    checkForward(this, input, output, k);
    this.p.forward(input, output, k);
  }

  magnitudesBatch(input: Float32Array, output: Float32Array, k: number, opts: MagnitudeOptions = {}): void {
    checkMagnitudes(this, input, output, k, opts);
    const m = magnitudeParams(opts);
    this.p.magnitudes(input, output, k, opts.window ?? null, m.kind, m.gain, m.edgeGain, m.floorDb);
  }

  ringBatch(r: RingWindows, output: Float32Array, opts: MagnitudeOptions = {}): void {
    checkRing(this, r, output, opts);
    const m = magnitudeParams(opts);
    this.p.gather(r.samples, r.capacityFrames, r.channels, r.chans, r.startPos, r.hop, r.count, opts.window ?? null, m.kind, m.gain, m.edgeGain, m.floorDb, output);
  }

  ringJob(r: RingLayout, opts: MagnitudeOptions = {}): RingJob {
    checkRing(this, { ...r, startPos: 0, count: 0 }, new Float32Array(0), opts);
    const m = magnitudeParams(opts);
    const { samples, capacityFrames, channels, chans, hop } = r;
    const window = opts.window ?? null;
    const p = this.p;
    return {
      run: (startPos, count, output) => {
        checkRingRun(this, r, startPos, count, output);
        p.gather(samples, capacityFrames, channels, chans, startPos, hop, count, window, m.kind, m.gain, m.edgeGain, m.floorDb, output);
      },
    };
  }
}

/**
 * FFTW (single precision) through the addon. Plans are made once per size with FFTW_MEASURE (by default)
 * and cached by this engine; give it wisdom from an earlier run to skip the measuring.
 */
export class FftwEngine implements FftEngine {
  readonly name = 'fftw' as const;
  readonly description: string;
  private readonly plans = new Map<number, FftwPlan>();
  private readonly a: FftwAddon;

  constructor(private readonly opts: { effort?: FftwEffort; wisdom?: string } = {}) {
    this.a = fftwAddon();
    this.description = this.a.version();
    if (opts.wisdom) this.a.importWisdom(opts.wisdom);
  }

  plan(n: number): FftPlan {
    checkSize(n);
    let p = this.plans.get(n);
    if (!p) {
      const effort = this.opts.effort === 'estimate' ? 0 : this.opts.effort === 'patient' ? 2 : 1;
      let native: NativePlan;
      try {
        native = new this.a.Plan(n, batchFor(n), effort);
      } catch (e) {
        throw new NativeError(`FFTW could not plan a ${n}-point transform: ${(e as Error).message}`, { size: n });
      }
      this.plans.set(n, (p = new FftwPlan(n, native)));
    }
    return p;
  }

  alloc(length: number): Float32Array {
    // Over-allocate by 64 bytes and start the view at the first 64-byte boundary: FFTW then reads and
    // writes the caller's memory directly (same alignment as its planning buffers).
    const buf = new ArrayBuffer(length * 4 + 64);
    const mis = this.a.alignmentOf(new Float32Array(buf, 0, 1));
    return new Float32Array(buf, (64 - mis) % 64, length);
  }

  /** FFTW's accumulated wisdom (plans measured so far) to pass back as `wisdom` in a later run. */
  exportWisdom(): string | null {
    return this.a.exportWisdom();
  }
}
