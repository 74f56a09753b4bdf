import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@senseflow/core';
import { JsFftEngine, FftwEngine, fftEngine, fftwAddon, makeWindow, windowSum, type FftEngine } from '@senseflow/sinks';

// The FFTW engine needs the addon (pnpm --filter @senseflow/sinks build, libfftw3-dev). Under CI its
// absence is a failure, not a skip.
let fftwMissing: string | false = false;
let fftw: FftEngine | null = null;
try {
  fftw = new FftwEngine();
} catch (e) {
  fftwMissing = (e as Error).message.split('\n')[0];
  if (process.env.CI) throw e;
}

const engines: [string, () => FftEngine][] = [
  ['js', () => new JsFftEngine()],
  ['fftw', () => fftw as FftEngine],
];

/** Deterministic pseudo-random samples in [-1, 1). */
function noise(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}

/** The textbook O(n²) DFT in double precision, bins 0 … n/2. */
function directDft(x: Float32Array): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      re[k] += x[t] * Math.cos(a);
      im[k] += x[t] * Math.sin(a);
    }
  }
  return { re, im };
}

describe.each(engines)('FFT engine %s', (name, get) => {
  const skip = name === 'fftw' && fftwMissing;
  const title = (t: string) => (skip ? `${t} (skipped: FFTW addon not loadable — ${fftwMissing}; run pnpm --filter @senseflow/sinks build)` : t);

  it.skipIf(skip)(title('agrees with a direct DFT at small sizes within float tolerance'), () => {
    const e = get();
    for (const n of [16, 32, 64, 128, 256, 512]) {
      const p = e.plan(n);
      const x = noise(n, n);
      const out = new Float32Array(p.bins * 2);
      p.forwardBatch(x, out, 1);
      const ref = directDft(x);
      let peak = 0;
      for (let k = 0; k < p.bins; k++) peak = Math.max(peak, Math.hypot(ref.re[k], ref.im[k]));
      for (let k = 0; k < p.bins; k++) {
        expect(Math.abs(out[2 * k] - ref.re[k])).toBeLessThan(peak * 2e-6 * Math.log2(n));
        expect(Math.abs(out[2 * k + 1] - ref.im[k])).toBeLessThan(peak * 2e-6 * Math.log2(n));
      }
    }
  });

  it.skipIf(skip)(title("satisfies Parseval's identity"), () => {
    const e = get();
    for (const n of [16, 1024, 65536]) {
      const p = e.plan(n);
      const x = noise(n, 7 + n);
      const out = new Float32Array(p.bins * 2);
      p.forwardBatch(x, out, 1);
      let time = 0;
      for (let i = 0; i < n; i++) time += x[i] * x[i];
      let freq = 0;
      for (let k = 0; k < p.bins; k++) {
        const pw = out[2 * k] ** 2 + out[2 * k + 1] ** 2;
        freq += k === 0 || k === n / 2 ? pw : 2 * pw;
      }
      expect(freq / n / time).toBeCloseTo(1, 4);
    }
  });

  it.skipIf(skip)(title('puts a sine at a known frequency in the right bin (within one bin)'), () => {
    const e = get();
    const n = 4096;
    const p = e.plan(n);
    const rate = 48_000;
    const mags = new Float32Array(p.bins);
    const w = makeWindow('hann', n);
    for (const f of [50, 440, 997.3, 1000, 3000, 12_345.6, 23_000]) {
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * f * i) / rate + 0.3);
      p.magnitudesBatch(x, mags, 1, { window: w });
      let best = 0;
      for (let k = 1; k < p.bins; k++) if (mags[k] > mags[best]) best = k;
      expect(Math.abs(best - (f * n) / rate)).toBeLessThanOrEqual(1);
    }
  });

  // 1024: batched plans; 4096: one plan per row, whose packed output rows alternate in alignment.
  it.skipIf(skip).each([1024, 4096])(title('a batch equals the same transforms one by one, aligned or not (N = %i)'), (n) => {
    const e = get();
    const k = 37; // not a multiple of any internal batch size
    const p = e.plan(n);
    const x = noise(k * n, 99);
    const aligned = e.alloc(k * n);
    aligned.set(x);
    const outA = e.alloc(k * p.bins * 2);
    p.forwardBatch(aligned, outA, k);
    // An input deliberately off alignment by one float: the native engine copies through its own buffers.
    const offBuf = new Float32Array(k * n + 1);
    const off = offBuf.subarray(1);
    off.set(x);
    const outB = new Float32Array(k * p.bins * 2 + 1).subarray(1);
    p.forwardBatch(off, outB, k);
    // FFTW may pick different algorithms for batched and single plans: equal to float rounding, not bits.
    const one = new Float32Array(p.bins * 2);
    for (const t of [0, 1, 2, 9, 18, 27, 35, 36]) {
      p.forwardBatch(x.subarray(t * n, (t + 1) * n), one, 1);
      let peak = 0;
      for (const v of one) peak = Math.max(peak, Math.abs(v));
      for (let b = 0; b < p.bins * 2; b++) {
        expect(Math.abs(outA[t * p.bins * 2 + b] - one[b])).toBeLessThan(peak * 1e-6);
        expect(Math.abs(outB[t * p.bins * 2 + b] - one[b])).toBeLessThan(peak * 1e-6);
      }
    }
  });

  it.skipIf(skip)(title('magnitudesBatch = window → FFT → |X|·gain, power and dB'), () => {
    const e = get();
    const n = 512;
    const k = 3;
    const p = e.plan(n);
    const x = noise(k * n, 5);
    const w = makeWindow('blackman', n);
    const xw = new Float32Array(k * n);
    for (let i = 0; i < k * n; i++) xw[i] = x[i] * w[i % n];
    const spec = new Float32Array(k * p.bins * 2);
    p.forwardBatch(xw, spec, k);
    const amp = new Float32Array(k * p.bins);
    const pow = new Float32Array(k * p.bins);
    const db = new Float32Array(k * p.bins);
    p.magnitudesBatch(x, amp, k, { window: w, gain: 0.25, edgeGain: 0.125 });
    p.magnitudesBatch(x, pow, k, { window: w, kind: 'power', gain: 0.25, edgeGain: 0.125 });
    p.magnitudesBatch(x, db, k, { window: w, kind: 'db', gain: 0.25, edgeGain: 0.125, floorDb: -30 });
    for (let t = 0; t < k; t++) {
      for (let b = 0; b < p.bins; b++) {
        const i = t * p.bins + b;
        const g = b === 0 || b === n / 2 ? 0.125 : 0.25;
        const a = Math.hypot(spec[2 * i], spec[2 * i + 1]) * g;
        expect(amp[i]).toBeCloseTo(a, 3);
        expect(pow[i] / (a * a)).toBeCloseTo(1, 3);
        expect(db[i]).toBeCloseTo(Math.max(-30, 20 * Math.log10(a)), 2);
      }
    }
  });

  it.skipIf(skip)(title('reads windows straight out of an interleaved ring, across its wrap'), () => {
    const e = get();
    const n = 64;
    const p = e.plan(n);
    const cap = 100;
    const channels = 3;
    const ring = new Int16Array(cap * channels);
    for (let i = 0; i < ring.length; i++) ring[i] = ((i * 7919) % 2001) - 1000;
    const chans = Int32Array.from([2, 0]);
    const out = new Float32Array(3 * 2 * p.bins);
    p.ringBatch({ samples: ring, capacityFrames: cap, channels, chans, startPos: 70, hop: 20, count: 3 }, out, { kind: 'amplitude' });
    const one = new Float32Array(p.bins);
    for (let j = 0; j < 3; j++) {
      for (let c = 0; c < 2; c++) {
        const x = new Float32Array(n);
        for (let i = 0; i < n; i++) x[i] = ring[((70 + j * 20 + i) % cap) * channels + chans[c]];
        p.magnitudesBatch(x, one, 1);
        const got = out.subarray((j * 2 + c) * p.bins, (j * 2 + c + 1) * p.bins);
        for (let b = 0; b < p.bins; b++) expect(got[b]).toBeCloseTo(one[b], 2);
      }
    }
  });

  it.skipIf(skip)(title('ringJob: checked once, each run() equals ringBatch at that position; a bad run() names the parameter'), () => {
    const p = get().plan(64);
    const cap = 100;
    const ring = new Int16Array(cap * 2);
    for (let i = 0; i < ring.length; i++) ring[i] = ((i * 7919) % 2001) - 1000;
    const layout = { samples: ring, capacityFrames: cap, channels: 2, chans: Int32Array.from([1, 0]), hop: 20 };
    const opts = { window: new Float32Array(64).fill(0.5), kind: 'db' as const, gain: 0.01, floorDb: -150 };
    const job = p.ringJob(layout, opts);
    for (const startPos of [0, 50, 90]) {
      const viaJob = new Float32Array(2 * 2 * p.bins);
      const viaBatch = new Float32Array(2 * 2 * p.bins);
      job.run(startPos, 2, viaJob);
      p.ringBatch({ ...layout, startPos, count: 2 }, viaBatch, opts);
      expect(Array.from(viaJob)).toEqual(Array.from(viaBatch));
    }
    expect(() => job.run(cap, 1, new Float32Array(2 * p.bins))).toThrow(/`startPos`/);
    expect(() => job.run(0, 2, new Float32Array(2 * p.bins))).toThrow(/`output`/);
    expect(() => p.ringJob({ ...layout, chans: Int32Array.from([2]) })).toThrow(/`chans`/);
  });

  it.skipIf(skip)(title('names the bad parameter'), () => {
    const e = get();
    expect(() => e.plan(1000)).toThrow(InvalidOptionError);
    expect(() => e.plan(1000)).toThrow(/`size`/);
    const p = e.plan(64);
    expect(() => p.forwardBatch(new Float32Array(64), new Float32Array(10), 1)).toThrow(/`output`/);
    expect(() => p.forwardBatch(new Float64Array(64) as unknown as Float32Array, new Float32Array(66), 1)).toThrow(/`input`/);
    expect(() => p.magnitudesBatch(new Float32Array(64), new Float32Array(33), 1, { kind: 'loud' as never })).toThrow(/`kind`/);
  });
});

describe('engines agree', () => {
  it.skipIf(fftwMissing)(`FFTW and the JS fallback give the same spectrum${fftwMissing ? ` (skipped: ${fftwMissing})` : ''}`, () => {
    const js = new JsFftEngine().plan(8192);
    const fw = (fftw as FftEngine).plan(8192);
    const x = noise(8192 * 2, 3);
    const a = new Float32Array(2 * js.bins * 2);
    const b = new Float32Array(2 * fw.bins * 2);
    js.forwardBatch(x, a, 2);
    fw.forwardBatch(x, b, 2);
    let peak = 0;
    for (const v of a) peak = Math.max(peak, Math.abs(v));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(peak * 1e-5);
  });

  it('auto picks FFTW when the addon loads, and SENSEFLOW_FFT / engine override it', () => {
    expect(fftEngine({ engine: 'js' }).name).toBe('js');
    expect(fftEngine({ engine: 'js' }).description).toMatch(/PFFFT/); // the library, not a hand-written FFT
    expect(fftEngine().name).toBe(fftwMissing ? 'js' : 'fftw');
    expect(() => fftEngine({ engine: 'cuda' as never })).toThrow(/`engine`/);
  });
});

describe('windows', () => {
  it('have the textbook shapes (periodic form)', () => {
    const n = 1024;
    const hann = makeWindow('hann', n);
    expect(hann[0]).toBeCloseTo(0, 6);
    expect(hann[n / 2]).toBeCloseTo(1, 6);
    expect(hann[n / 4]).toBeCloseTo(0.5, 6);
    const hamming = makeWindow('hamming', n);
    expect(hamming[0]).toBeCloseTo(0.08, 6);
    expect(hamming[n / 2]).toBeCloseTo(1, 6);
    const blackman = makeWindow('blackman', n);
    expect(blackman[0]).toBeCloseTo(0, 6);
    expect(blackman[n / 2]).toBeCloseTo(1, 6);
    expect(makeWindow('rect', n).every((v) => v === 1)).toBe(true);
    for (const w of [hann, hamming, blackman]) for (let i = 1; i < n; i++) expect(w[i]).toBeCloseTo(w[n - i], 6);
    // Coherent gains: sum/n = 0.5, 0.54, 0.42.
    expect(windowSum(hann) / n).toBeCloseTo(0.5, 5);
    expect(windowSum(hamming) / n).toBeCloseTo(0.54, 5);
    expect(windowSum(blackman) / n).toBeCloseTo(0.42, 5);
    // Hann at 50 % overlap sums to a constant (why the periodic form).
    for (let i = 0; i < n / 2; i++) expect(hann[i] + hann[i + n / 2]).toBeCloseTo(1, 6);
    expect(() => makeWindow('kaiser' as never, 8)).toThrow(/`window`/);
  });
});

describe('the addon in worker threads', () => {
  it.skipIf(fftwMissing)(`loads and plans in two workers and the main thread at once${fftwMissing ? ` (skipped: ${fftwMissing})` : ''}`, async () => {
    const entry = pathToFileURL(createRequire(import.meta.url).resolve('@senseflow/sinks')).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(entry)}).then(({ FftwEngine }) => {
        const e = new FftwEngine();
        const p = e.plan(2048);
        const x = new Float32Array(2048); x[1] = 1;
        const out = new Float32Array(p.bins * 2);
        p.forwardBatch(x, out, 1);
        parentPort.postMessage([out[2], out[3]]);
      }).catch((err) => parentPort.postMessage(String(err)));`;
    const run = () =>
      new Promise<unknown>((resolve, reject) => {
        const w = new Worker(code, { eval: true });
        w.once('message', (m) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      });
    const main = (fftw as FftEngine).plan(2048);
    const [a, b] = await Promise.all([run(), run()]);
    const x = new Float32Array(2048);
    x[1] = 1;
    const out = new Float32Array(main.bins * 2);
    main.forwardBatch(x, out, 1);
    // A unit impulse at t = 1: X[1] = e^{-2πi/2048}.
    expect(a).toEqual([out[2], out[3]]);
    expect(b).toEqual([out[2], out[3]]);
    expect(out[2]).toBeCloseTo(Math.cos((2 * Math.PI) / 2048), 5);
  });
});

describe('the addon guards its own arguments', () => {
  it.skipIf(fftwMissing)(`a raw call with a wrong array type, a short array or a non-number throws (TypeError / RangeError), never crashes${fftwMissing ? ` (skipped: ${fftwMissing})` : ''}`, () => {
    // The addon behind the TypeScript checks: each typed-array argument is looked up once (type, length, data).
    const plan = new (fftwAddon().Plan)(64, 1, 0);
    const bins = 33;
    const ok = () => plan.forward(new Float32Array(64), new Float32Array(bins * 2), 1);
    expect(ok).not.toThrow();
    expect(() => plan.forward(new Float64Array(64) as never, new Float32Array(bins * 2), 1)).toThrow(TypeError);
    expect(() => plan.forward({} as never, new Float32Array(bins * 2), 1)).toThrow(/input: wrong typed array type/);
    expect(() => plan.forward(new Float32Array(63), new Float32Array(bins * 2), 1)).toThrow(RangeError);
    expect(() => plan.forward(new Float32Array(64), new Float32Array(bins * 2 - 1), 1)).toThrow(/output: too short/);
    expect(() => plan.forward(new Float32Array(64), new Float32Array(bins * 2), 'x' as never)).toThrow(/k: expected a number/);
    const ring = new Int16Array(128 * 2);
    const out = new Float32Array(bins * 2);
    const gather = (src: unknown, chans: unknown) => plan.gather(src as never, 128, 2, chans as never, 0, 64, 1, null, 0, 1, 1, -200, out);
    expect(() => gather(ring, Int32Array.of(0, 1))).not.toThrow();
    expect(() => gather(new Uint8Array(512), Int32Array.of(0))).toThrow(/src: Int16Array, Int32Array or Float32Array/);
    expect(() => gather(new Int16Array(10), Int32Array.of(0))).toThrow(/src: too short/);
    expect(() => gather(ring, [0])).toThrow(/chans: wrong typed array type/);
    expect(() => gather(ring, Int32Array.of(2))).toThrow(/chans: channel out of range/);
    plan.dispose();
    expect(ok).toThrow(/plan disposed/);
  });
});
