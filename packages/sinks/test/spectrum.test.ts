import { afterAll, describe, expect, it } from 'vitest';
import { firstValueFrom, from, map, take, toArray, timeout } from 'rxjs';
import {
  FrameRingReader,
  InvalidOptionError,
  InvalidStateError,
  I32,
  ItemFlags,
  SampleRingWriter,
  createFrameRing,
  createSampleRing,
  type SampleFormat,
} from '@senseflow/core';
import {
  DEFAULT_COALESCE_MS,
  FftwEngine,
  JsFftEngine,
  SpectrumComputer,
  bandEnergies,
  closeSpectrumPool,
  createControlBlock,
  frameFromView,
  frequencyAxis,
  octaveBands,
  peaks,
  resolveSpectrumOptions,
  spectrum,
  spectrumSlotBytes,
  toSpectrum,
  type SpectrumFrame,
} from '@senseflow/sinks';

let fftwMissing: string | false = false;
try {
  new FftwEngine();
} catch (e) {
  fftwMissing = (e as Error).message.split('\n')[0];
  if (process.env.CI) throw e;
}

afterAll(async () => {
  await closeSpectrumPool();
});

const RATE = 48_000;
const T0 = 1_000_000_000_000n;
/** Capture time of frame n in the generated streams below (chunks of 480 frames at 48 kHz: exact ns). */
const timeOf = (n: bigint) => T0 + (n * 1_000_000_000n) / BigInt(RATE);

interface Tone {
  freq: number;
  amp: number;
}

/** Interleaved samples of one sine per channel, frames [start, start + frames). */
function tones(format: SampleFormat, channels: Tone[], start: number, frames: number): Int16Array | Int32Array | Float32Array {
  const ch = channels.length;
  const full = format === 's16le' ? 32767 : format === 's32le' ? 2 ** 31 - 1 : 1;
  const out = format === 's16le' ? new Int16Array(frames * ch) : format === 's32le' ? new Int32Array(frames * ch) : new Float32Array(frames * ch);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < ch; c++) {
      const v = channels[c].amp * Math.sin((2 * Math.PI * channels[c].freq * (start + i)) / RATE);
      out[i * ch + c] = format === 'f32le' ? v : Math.round(v * full);
    }
  }
  return out;
}

/** Writes `total` frames in 480-frame chunks stamped with {@link timeOf}. */
function feed(writer: SampleRingWriter, format: SampleFormat, channels: Tone[], total: number, from = 0): void {
  for (let f = from; f < from + total; f += 480) writer.write(tones(format, channels, f, 480), timeOf(BigInt(f)));
}

function argmax(a: Float32Array): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i;
  return k;
}

const engines = ['fftw', 'js'] as const;

describe.each(engines)('spectrum() live, %s engine', (engine) => {
  const skip = engine === 'fftw' && fftwMissing;
  const why = skip ? ` (skipped: FFTW addon not loadable — ${fftwMissing}; run pnpm --filter @senseflow/sinks build)` : '';

  it.skipIf(skip)(`emits one frame per hop: right peaks per channel, seq = startFrame / hop, capture time of the first sample${why}`, async () => {
    const ring = createSampleRing({ channels: 2, rate: RATE, format: 's16le', capacityFrames: RATE * 2 });
    const writer = new SampleRingWriter(ring);
    const size = 4096;
    const hop = 1024;
    const stream = spectrum(ring, { size, hop, engine });
    await stream.ready;
    expect(stream.stats().engine).toBe(engine);
    const total = 480 * 50; // 24 000 frames → floor((24000 − 4096) / 1024) + 1 = 20 hops
    const expected = Math.floor((total - size) / hop) + 1;
    const got = firstValueFrom(stream.frames$.pipe(take(expected), map((f) => f.copy()), toArray(), timeout(20_000)));
    const L = { freq: 1000, amp: 0.5 };
    const R = { freq: 5000, amp: 0.25 };
    feed(writer, 's16le', [L, R], total);
    const frames = await got;
    const bin = RATE / size;
    frames.forEach((f, i) => {
      expect(f.seq).toBe(BigInt(i));
      expect(f.startFrame).toBe(BigInt(i * hop));
      expect(Number(f.captureNs - timeOf(f.startFrame))).toBeLessThanOrEqual(1);
      expect(Number(f.captureNs - timeOf(f.startFrame))).toBeGreaterThanOrEqual(-1);
      expect(f.flags & ItemFlags.DISCONTINUITY).toBe(0);
      expect(f.bins).toBe(size / 2 + 1);
      expect(f.channels).toEqual([0, 1]);
      expect(Math.abs(argmax(f.channel(0)) - L.freq / bin)).toBeLessThanOrEqual(1);
      expect(Math.abs(argmax(f.channel(1)) - R.freq / bin)).toBeLessThanOrEqual(1);
      const [pl] = peaks(f, { count: 1, channel: 0 });
      const [pr] = peaks(f, { count: 1, channel: 1 });
      expect(Math.abs(pl.frequency - L.freq)).toBeLessThan(bin / 2);
      expect(Math.abs(pr.frequency - R.freq)).toBeLessThan(bin / 2);
      expect(pl.value).toBeCloseTo(20 * Math.log10(L.amp), 0); // dBFS, ±0.5 dB
      expect(pr.value).toBeCloseTo(20 * Math.log10(R.amp), 0);
    });
    const latest = stream.latest();
    expect(latest?.seq).toBe(BigInt(expected - 1));
    expect(stream.stats()).toMatchObject({ computed: expected, lost: 0 });
    await stream.close();
  });

  it.skipIf(skip)(`frames equal an independent float64 reference (direct DFT of the Hann-windowed s16 samples, dBFS) at N = 4096, hop 2048, stereo, default coalescing${why}`, async () => {
    const size = 4096;
    const hop = 2048;
    const frames = 5;
    const total = (frames - 1) * hop + size;
    const ring = createSampleRing({ channels: 2, rate: RATE, format: 's16le', capacityFrames: RATE * 2 });
    const writer = new SampleRingWriter(ring);
    const stream = spectrum(ring, { size, engine, from: 'oldest' }); // default hop (size / 2), window, scale, coalescing
    await stream.ready;
    const got = firstValueFrom(stream.frames$.pipe(take(frames), map((f) => f.copy()), toArray(), timeout(20_000)));
    // Two tones per channel (one off-bin) plus a deterministic pseudo-random floor, written in 480-frame chunks.
    const samples = new Int16Array(Math.ceil(total / 480) * 480 * 2);
    let seed = 12345;
    for (let i = 0; i < samples.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const t = (i >> 1) / RATE;
      const tone = (i & 1) === 0 ? 0.5 * Math.sin(2 * Math.PI * 1000 * t) + 0.1 * Math.sin(2 * Math.PI * 7333.3 * t) : 0.3 * Math.sin(2 * Math.PI * 440 * t) + 0.05 * Math.sin(2 * Math.PI * 15000 * t);
      samples[i] = Math.round(32767 * tone + (seed / 2 ** 31 - 0.5) * 64);
    }
    for (let f = 0; f < samples.length / 2; f += 480) writer.write(samples.subarray(f * 2, (f + 480) * 2), timeOf(BigInt(f)));
    const out = await got;
    // Reference: w[i] = 0.5 − 0.5·cos(2πi/N) (periodic Hann), X[k] = Σ x[i]·w[i]·e^(−2πjki/N) in float64,
    // amplitude = |X|·2/(Σw · 32768) (1/(Σw · 32768) at DC and Nyquist), dB = 20·log10, floored at −160.
    const cos = new Float64Array(size);
    const sin = new Float64Array(size);
    const w = new Float64Array(size);
    let wsum = 0;
    for (let i = 0; i < size; i++) {
      cos[i] = Math.cos((2 * Math.PI * i) / size);
      sin[i] = Math.sin((2 * Math.PI * i) / size);
      w[i] = 0.5 - 0.5 * cos[i];
      wsum += w[i];
    }
    const x = new Float64Array(size);
    let worst = 0;
    out.forEach((f, j) => {
      expect(f.startFrame).toBe(BigInt(j * hop));
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < size; i++) x[i] = samples[(j * hop + i) * 2 + c] * w[i];
        const mags = f.channel(c);
        for (let k = 0; k <= size / 2; k++) {
          let re = 0;
          let im = 0;
          for (let i = 0, idx = 0; i < size; i++, idx = (idx + k) & (size - 1)) {
            re += x[i] * cos[idx];
            im -= x[i] * sin[idx];
          }
          const gain = (k === 0 || k === size / 2 ? 1 : 2) / (wsum * 32768);
          const ref = Math.max(-160, 20 * Math.log10(Math.hypot(re, im) * gain));
          // Single precision against double: within 0.01 dB, or (far below the peaks, where float32 rounding
          // of the transform dominates) within 1e-6 of full scale in amplitude (−120 dBFS).
          const err = Math.min(Math.abs(mags[k] - ref), Math.abs(10 ** (mags[k] / 20) - 10 ** (ref / 20)) * 1e4);
          worst = Math.max(worst, err);
          if (err > 0.01) expect.fail(`frame ${j} channel ${c} bin ${k}: ${mags[k]} dB, reference ${ref} dB`);
        }
      }
    });
    expect(worst).toBeLessThan(0.01);
    await stream.close();
  });

  it.skipIf(skip)(`linear scale reads amplitude: 1.0 for a full-scale bin-centred sine, any window${why}`, async () => {
    const ring = createSampleRing({ channels: 1, rate: RATE, format: 'f32le', capacityFrames: RATE });
    const writer = new SampleRingWriter(ring);
    const size = 1024;
    const k = 40;
    for (const window of ['rect', 'hann', 'hamming', 'blackman'] as const) {
      const stream = spectrum(ring, { size, hop: size, window, scale: 'linear', engine });
      await stream.ready;
      const got = firstValueFrom(stream.frames$.pipe(take(2), map((f) => f.copy()), toArray(), timeout(20_000)));
      const start = Number(stream.options.hop) * Math.ceil(Number(writer.framesWritten) / size);
      feed(writer, 'f32le', [{ freq: (k * RATE) / size, amp: 1 }], 480 * 8, Number(writer.framesWritten));
      const frames = await got;
      for (const f of frames) {
        expect(f.scale).toBe('linear');
        expect(f.startFrame).toBeGreaterThanOrEqual(BigInt(start));
        expect(argmax(f.magnitudes)).toBe(k);
        expect(f.magnitudes[k]).toBeCloseTo(1, 3);
      }
      await stream.close();
    }
  });
});

describe('spectrum() options, lifecycle and readers', () => {
  it('validates options, naming the parameter', () => {
    const ring = createSampleRing({ channels: 2, rate: RATE, format: 's16le', capacityFrames: 8192 });
    expect(() => spectrum(ring, { size: 1000 })).toThrow(InvalidOptionError);
    expect(() => spectrum(ring, { size: 1000 })).toThrow(/`size`/);
    expect(() => spectrum(ring, { size: 16384 })).toThrow(/capacity/);
    expect(() => spectrum(ring, { channels: [2] })).toThrow(/`channels`/);
    expect(() => spectrum(ring, { window: 'kaiser' as never })).toThrow(/`window`/);
    expect(() => spectrum(ring, { scale: 'log' as never })).toThrow(/`scale`/);
    expect(() => spectrum(ring, { hop: 0 })).toThrow(/`hop`/);
    expect(() => spectrum(ring, { sizes: 4 } as never)).toThrow(/`sizes`/);
    expect(() => spectrum(ring, { coalesceMs: -1 })).toThrow(/`coalesceMs`/);
    expect(() => spectrum(createFrameRing({ slots: 4, slotBytes: 16 }), {})).toThrow(/`source`/);
    expect(() => spectrum({} as never)).toThrow(/`source`/);
  });

  it('coalesceMs computes several hops per wake-up and still delivers every frame, in order', async () => {
    const ring = createSampleRing({ channels: 1, rate: RATE, format: 's16le', capacityFrames: RATE * 2 });
    const writer = new SampleRingWriter(ring);
    const stream = spectrum(ring, { size: 1024, hop: 256, coalesceMs: 40 });
    await stream.ready;
    const total = 480 * 100;
    const expected = Math.floor((total - 1024) / 256) + 1;
    const got = firstValueFrom(stream.frames$.pipe(take(expected), map((f) => f.seq), toArray(), timeout(20_000)));
    for (let f = 0; f < total; f += 4800) {
      feed(writer, 's16le', [{ freq: 440, amp: 0.5 }], 4800, f);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await got).toEqual(Array.from({ length: expected }, (_, i) => BigInt(i)));
    const s = stream.stats();
    expect(s.computed).toBe(expected);
    expect(s.wakes).toBeLessThan(expected); // several hops per pass
    await stream.close();
  });

  it('the default coalescing window delivers exactly the frames of the uncoalesced path (count, order, values), in fewer wake-ups', async () => {
    expect(resolveSpectrumOptions({}, { rate: RATE, format: 's16le', channels: 2, capacityFrames: RATE }).coalesceMs).toBe(DEFAULT_COALESCE_MS);
    expect(DEFAULT_COALESCE_MS).toBeGreaterThan(0);
    const ring = createSampleRing({ channels: 2, rate: RATE, format: 's16le', capacityFrames: RATE * 4 });
    const writer = new SampleRingWriter(ring);
    // Both streams read the same ring; only the coalescing differs. 48 kHz, N = 4096, 50 % overlap.
    const batched = spectrum(ring, { size: 4096 });
    const perHop = spectrum(ring, { size: 4096, coalesceMs: 0 });
    await Promise.all([batched.ready, perHop.ready]);
    const total = RATE * 2;
    const expected = Math.floor((total - 4096) / 2048) + 1;
    const collect = (s: typeof batched) =>
      firstValueFrom(s.frames$.pipe(take(expected), map((f) => ({ seq: f.seq, startFrame: f.startFrame, captureNs: f.captureNs, flags: f.flags, mags: Array.from(f.magnitudes) })), toArray(), timeout(30_000)));
    const [a, b] = [collect(batched), collect(perHop)];
    // Real-time-ish feed (10 ms chunks) so the per-hop path really wakes per hop.
    for (let f = 0; f < total; f += 480) {
      feed(writer, 's16le', [{ freq: 440, amp: 0.5 }, { freq: 3000, amp: 0.25 }], 480, f);
      if (f % 4800 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    const [fa, fb] = await Promise.all([a, b]);
    expect(fa.length).toBe(expected);
    expect(fa.map((f) => f.seq)).toEqual(Array.from({ length: expected }, (_, i) => BigInt(i)));
    expect(fa).toEqual(fb); // same count, order, stamps, flags and magnitudes (same engine: bit-identical)
    const [sa, sb] = [batched.stats(), perHop.stats()];
    expect(sa.computed).toBe(expected);
    expect(sb.computed).toBe(expected);
    expect(sa.wakes).toBeLessThan(sb.wakes);
    await Promise.all([batched.close(), perHop.close()]);
  });

  it('a real-time source: the default sleeps until hops are due — several hops per wake-up, the same frames as per hop, published within coalesceMs of their last sample', async () => {
    const ring = createSampleRing({ channels: 2, rate: RATE, format: 's16le', capacityFrames: RATE * 4 });
    const writer = new SampleRingWriter(ring);
    const batched = spectrum(ring, { size: 4096 });
    const perHop = spectrum(ring, { size: 4096, coalesceMs: 0 });
    await Promise.all([batched.ready, perHop.ready]);
    const total = RATE * 3; // 3 s at the source's pace: 69 hops of 2048
    const expected = Math.floor((total - 4096) / 2048) + 1;
    const collect = (s: typeof batched) =>
      firstValueFrom(s.frames$.pipe(take(expected), map((f) => ({ seq: f.seq, startFrame: f.startFrame, captureNs: f.captureNs, flags: f.flags, mags: Array.from(f.magnitudes), publishedNs: f.receiveNs })), toArray(), timeout(30_000)));
    const [a, b] = [collect(batched), collect(perHop)];
    // 10 ms chunks written when their time has come (by the wall clock), stamped just before each write: the
    // spectrum worker can publish a frame before this thread reads the clock again after the commit.
    const writtenNs = new Map<number, bigint>(); // chunk start frame → a time just before its commit
    const t0 = performance.now();
    for (let f = 0; f < total; ) {
      const due = Math.min(total, Math.floor((((performance.now() - t0) / 1000) * RATE) / 480) * 480);
      for (; f < due; f += 480) {
        writtenNs.set(f, process.hrtime.bigint());
        feed(writer, 's16le', [{ freq: 440, amp: 0.5 }, { freq: 3000, amp: 0.25 }], 480, f);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const [fa, fb] = await Promise.all([a, b]);
    const strip = (f: (typeof fa)[number]) => ({ ...f, publishedNs: 0n });
    expect(fa.map(strip)).toEqual(fb.map(strip)); // same count, order, stamps, flags and magnitudes
    expect(fa.map((f) => f.seq)).toEqual(Array.from({ length: expected }, (_, i) => BigInt(i)));
    // Each frame is published after its last sample was written, and within coalesceMs of it (+ a
    // generous allowance for a busy machine's late timers).
    for (const f of fa) {
      const last = Number(f.startFrame) + 4096 - 1;
      const lastWritten = writtenNs.get(last - (last % 480))!;
      const lagMs = Number(f.publishedNs - lastWritten) / 1e6;
      expect(lagMs).toBeGreaterThanOrEqual(0);
      expect(lagMs).toBeLessThan(DEFAULT_COALESCE_MS + 1000);
    }
    const [sa, sb] = [batched.stats(), perHop.stats()];
    expect(sa.computed).toBe(expected);
    expect(sb.computed).toBe(expected);
    // Hops are due every 42.7 ms: sleeping until 50 ms past a due hop takes the next one too (~0.5 wake-ups
    // per hop, 0.54 measured). Polling every 50 ms (the former loop) woke 0.85–0.88 times per hop; per hop
    // wakes for every chunk.
    expect(sa.wakes).toBeLessThan(0.75 * expected);
    expect(sa.wakes).toBeLessThan(sb.wakes);
    await Promise.all([batched.close(), perHop.close()]);
  }, 40_000);

  it('close() completes frames$, is idempotent, and later calls throw InvalidStateError', async () => {
    const ring = createSampleRing({ channels: 1, rate: RATE, format: 's16le', capacityFrames: RATE });
    const stream = spectrum(ring, { size: 256 });
    await stream.ready;
    let completed = false;
    stream.frames$.subscribe({ complete: () => (completed = true) });
    await stream.close();
    await stream.close();
    expect(completed).toBe(true);
    expect(() => stream.latest()).toThrow(InvalidStateError);
    await expect(firstValueFrom(stream.frames$)).rejects.toThrow(InvalidStateError);
  });

  it('any thread can read the output ring in place (FrameRingReader + frameFromView)', async () => {
    const ring = createSampleRing({ channels: 1, rate: RATE, format: 's16le', capacityFrames: RATE });
    const writer = new SampleRingWriter(ring);
    const stream = spectrum(ring, { size: 512, hop: 512 });
    await stream.ready;
    const reader = new FrameRingReader(stream.ring, { from: 'oldest' });
    const first = firstValueFrom(stream.frames$.pipe(take(3), map((f) => f.copy()), toArray(), timeout(20_000)));
    feed(writer, 's16le', [{ freq: 3000, amp: 0.5 }], 480 * 4);
    const viaRx = await first;
    const statics = { size: 512, hop: 512, rate: RATE, channels: [0], frequencies: frequencyAxis(512, RATE) };
    for (const rx of viaRx) {
      const v = reader.next();
      expect(v).not.toBeNull();
      const f = frameFromView(v!, statics);
      expect(f.seq).toBe(rx.seq);
      expect(f.captureNs).toBe(rx.captureNs);
      expect(Array.from(f.magnitudes)).toEqual(Array.from(rx.magnitudes));
    }
    reader.release();
    await stream.close();
  });
});

describe('SpectrumComputer (the worker loop body, run in this thread)', () => {
  function setup(capacityFrames: number, size: number, hop: number) {
    const ring = createSampleRing({ channels: 1, rate: RATE, format: 's16le', capacityFrames });
    const writer = new SampleRingWriter(ring);
    const o = resolveSpectrumOptions({ size, hop, from: 'oldest' }, { rate: RATE, format: 's16le', channels: 1, capacityFrames });
    const out = createFrameRing({ slots: 64, slotBytes: spectrumSlotBytes(o) });
    const computer = new SpectrumComputer(ring, out, createControlBlock(), o, new JsFftEngine());
    const reader = new FrameRingReader(out, { from: 'oldest' });
    const statics = { size, hop, rate: RATE, channels: [0], frequencies: frequencyAxis(size, RATE) };
    const all = (): SpectrumFrame[] => {
      const got: SpectrumFrame[] = [];
      for (let v = reader.next(); v; v = reader.next()) got.push(frameFromView(v, statics).copy());
      return got;
    };
    return { writer, computer, all, out };
  }

  it('publishes every ready hop and wakes the readers once for the batch, not once per frame', () => {
    const { writer, computer, all, out } = setup(RATE, 1024, 512);
    const notify = new Int32Array(out, 0, I32.NOTIFY + 1);
    const wakes = () => Atomics.load(notify, I32.NOTIFY);
    feed(writer, 's16le', [{ freq: 1000, amp: 0.5 }], 480 * 10); // frames [0, 4800): hops 0 … 7
    const w0 = wakes();
    expect(computer.step()).toBe(8);
    expect(wakes() - w0).toBe(1);
    expect(all().map((f) => f.seq)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(computer.step()).toBe(0); // nothing new: no wake-up
    expect(wakes() - w0).toBe(1);
  });

  it('counts hops whose samples the source overwrote, skips to the oldest whole window and flags it', () => {
    const { writer, computer, all } = setup(4096, 1024, 512);
    feed(writer, 's16le', [{ freq: 1000, amp: 0.5 }], 480 * 30); // 14 400 frames through a 4096-frame ring
    const n = computer.step();
    const frames = all();
    expect(frames.length).toBe(n);
    // The ring holds [10 304, 14 400): hops 21 … 26 are whole in it and written (window h = [512h, 512h + 1024)).
    expect(frames[0].seq).toBe(21n);
    expect(frames.at(-1)!.seq).toBe(26n);
    expect(frames[0].flags & ItemFlags.DISCONTINUITY).toBe(ItemFlags.DISCONTINUITY);
    expect(frames[1].flags & ItemFlags.DISCONTINUITY).toBe(0);
    frames.forEach((f, i) => i && expect(f.seq).toBe(frames[i - 1].seq + 1n));
  });

  it('flags the windows that span a driver loss in the source (and only those)', () => {
    const { writer, computer, all } = setup(RATE, 1024, 512);
    feed(writer, 's16le', [{ freq: 1000, amp: 0.5 }], 480 * 10); // frames [0, 4800)
    writer.reportDrop('driver', 100);
    feed(writer, 's16le', [{ freq: 1000, amp: 0.5 }], 480 * 10, 4800); // the chunk at 4800 is flagged
    computer.step();
    const frames = all();
    const flagged = frames.filter((f) => f.flags & ItemFlags.DISCONTINUITY).map((f) => f.seq);
    // Windows containing frame 4800: [512h, 512h + 1024) ∋ 4800 → h = 8, 9.
    expect(flagged).toEqual([8n, 9n]);
    expect(frames.length).toBe(Math.floor((9600 - 1024) / 512) + 1);
  });
});

describe('toSpectrum() operator (in-process)', () => {
  it('gives the same frames as the worker path, across chunk boundaries and for odd chunk sizes', async () => {
    const size = 2048;
    const hop = 700;
    const tone = [{ freq: 2500, amp: 0.3 }, { freq: 440, amp: 0.6 }];
    const total = 480 * 40;
    const ring = createSampleRing({ channels: 2, rate: RATE, format: 's16le', capacityFrames: RATE });
    const writer = new SampleRingWriter(ring);
    const stream = spectrum(ring, { size, hop, engine: 'js' });
    await stream.ready;
    const expected = Math.floor((total - size) / hop) + 1;
    const live = firstValueFrom(stream.frames$.pipe(take(expected), map((f) => f.copy()), toArray(), timeout(20_000)));
    feed(writer, 's16le', tone, total);
    const a = await live;
    await stream.close();

    // The same samples, as chunks of varying size.
    const chunks = [];
    for (let f = 0, k = 0; f < total; k++) {
      const n = Math.min(total - f, [480, 333, 1001, 64][k % 4]);
      chunks.push({ startFrame: BigInt(f), frames: n, channels: 2, rate: RATE, format: 's16le' as const, data: tones('s16le', tone, f, n), captureNs: timeOf(BigInt(f)), flags: 0 });
      f += n;
    }
    const b = await firstValueFrom(from(chunks).pipe(toSpectrum({ size, hop, engine: 'js' }), toArray()));
    expect(b.length).toBe(a.length);
    b.forEach((f, i) => {
      expect(f.seq).toBe(a[i].seq);
      expect(f.startFrame).toBe(a[i].startFrame);
      expect(Math.abs(Number(f.captureNs - a[i].captureNs))).toBeLessThanOrEqual(1);
      for (let k = 0; k < f.magnitudes.length; k++) expect(Math.abs(f.magnitudes[k] - a[i].magnitudes[k])).toBeLessThan(1e-3);
    });
  });

  it('starts over after a gap in the chunks and flags the next frame', async () => {
    const mk = (start: number, n: number) => ({ startFrame: BigInt(start), frames: n, channels: 1, rate: RATE, format: 'f32le' as const, data: tones('f32le', [{ freq: 1000, amp: 1 }], start, n), captureNs: timeOf(BigInt(start)), flags: 0 });
    const frames = await firstValueFrom(from([mk(0, 600), mk(600, 600), mk(2000, 1500)]).pipe(toSpectrum({ size: 512, hop: 256 }), toArray()));
    // Before the gap: windows 0–2 (end ≤ 1200). After it: windows start at multiples of 256 ≥ 2000 → 8 …; end ≤ 3500 → h ≤ 11.
    expect(frames.map((f) => f.seq)).toEqual([0n, 1n, 2n, 8n, 9n, 10n, 11n]);
    expect(frames.map((f) => (f.flags & ItemFlags.DISCONTINUITY ? 1 : 0))).toEqual([0, 0, 0, 1, 0, 0, 0]);
  });
});

describe('peaks() and bandEnergies()', () => {
  function frameOf(mags: number[], scale: 'db' | 'linear') {
    const size = (mags.length - 1) * 2;
    return { magnitudes: Float32Array.from(mags), frequencies: frequencyAxis(size, 1600), scale, channels: [0] };
  }

  it('finds local maxima, highest first, refined between bins', () => {
    // Bin width 1600 / 16 = 100 Hz. A symmetric peak at bin 3, a lopsided one at bin 6 (true peak right of it).
    const f = frameOf([-100, -90, -20, -10, -20, -80, -30, -36, -100], 'db');
    const p = peaks(f, { count: 5, threshold: -60 });
    expect(p.map((x) => x.bin)).toEqual([3, 6]);
    expect(p[0].frequency).toBeCloseTo(300, 6);
    expect(p[0].value).toBeCloseTo(-10, 6);
    expect(p[1].frequency).toBeGreaterThan(600);
    expect(p[1].frequency).toBeLessThan(650);
    expect(peaks(f, { count: 1 })).toHaveLength(1);
    expect(() => peaks(f, { channel: 1 })).toThrow(/`channel`/);
  });

  it('sums band power in linear units and dB', () => {
    const f = frameOf([0, 0, 0.5, 0, 0, 0, 0.25, 0, 0], 'linear');
    const e = bandEnergies(f, [[150, 250], [250, 700], [700, 900]]);
    expect(Array.from(e.power)).toEqual([0.25, 0.0625, 0]);
    expect(e.db[0]).toBeCloseTo(-6.0206, 3);
    expect(e.db[2]).toBe(-400);
    const fdb = frameOf([-400, -400, 20 * Math.log10(0.5), -400, -400, -400, 20 * Math.log10(0.25), -400, -400], 'db');
    expect(bandEnergies(fdb, [[150, 250]]).power[0]).toBeCloseTo(0.25, 6);
    expect(() => bandEnergies(f, [[5, 1]])).toThrow(/`bands`/);
    const oct = octaveBands(24_000);
    expect(oct[0][0]).toBeCloseTo(31.25 / Math.SQRT2, 6);
    expect(oct.at(-1)![1]).toBeGreaterThan(16_000);
    for (let i = 1; i < oct.length; i++) expect(oct[i][0]).toBeCloseTo(oct[i - 1][1], 6);
  });
});
