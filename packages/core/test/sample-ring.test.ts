import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidOptionError, OverrunError, SampleRingReader, SampleRingWriter, createSampleRing, type SampleArray } from '@senseflow/core';

const CORE = pathToFileURL(createRequire(import.meta.url).resolve('@senseflow/core')).href;

const valueAt = (frame: number, ch: number) => ((frame * 7 + ch * 1000) % 32768) | 0;

function writeChunk(w: SampleRingWriter, frames: number, rate: number, t0: bigint): void {
  let left = frames;
  while (left > 0) {
    const r = w.reserve(left);
    const start = Number(r.startFrame);
    for (let i = 0; i < r.frames; i++) for (let c = 0; c < w.channels; c++) r.samples[i * w.channels + c] = valueAt(start + i, c);
    w.commit(r.frames, t0 + (BigInt(start) * 1_000_000_000n) / BigInt(rate));
    left -= r.frames;
  }
}

describe('sample ring', () => {
  it('validates its options', () => {
    expect(() => createSampleRing({ channels: 0, rate: 48000, format: 's16le', capacityFrames: 100 })).toThrow(InvalidOptionError);
    expect(() => createSampleRing({ channels: 2, rate: 48000, format: 'u8' as never, capacityFrames: 100 })).toThrowError(/`format`/);
    const sab = createSampleRing({ channels: 2, rate: 48000, format: 's16le', capacityFrames: 100 });
    expect(() => new SampleRingReader(sab).read(0)).toThrowError(/`n`/);
  });

  it('makes its sample pages resident when created, so the writer takes no page faults on its first lap', () => {
    // A fresh SharedArrayBuffer is mapped lazily (RSS does not grow until a page is written): without the
    // pre-fault, RSS would grow by the chunk table only (~200 KB here), not by the 64 MiB of samples.
    const capacityFrames = 16 << 20; // × 4 bytes (stereo s16) = 64 MiB
    const before = process.memoryUsage().rss;
    const sab = createSampleRing({ channels: 2, rate: 48000, format: 's16le', capacityFrames });
    const grew = process.memoryUsage().rss - before;
    expect(sab.byteLength).toBeGreaterThan(64 << 20);
    expect(grew, `RSS grew by ${(grew / 2 ** 20).toFixed(1)} MiB`).toBeGreaterThan(0.75 * (64 << 20));
    // Still zero-filled samples: nothing but residency changed.
    expect(new Int32Array(sab, sab.byteLength - (64 << 20)).some((x) => x !== 0)).toBe(false);
  });

  it('read(n) returns the newest n frames contiguously across the wrap, with the capture time of the first', () => {
    const rate = 1000;
    const sab = createSampleRing({ channels: 2, rate, format: 's16le', capacityFrames: 100 });
    const w = new SampleRingWriter(sab);
    const r = new SampleRingReader(sab);
    writeChunk(w, 250, rate, 5_000_000_000n); // wraps twice
    const b = r.read(80);
    expect(b.frames).toBe(80);
    expect(b.startFrame).toBe(170n);
    expect(b.captureNs).toBe(5_000_000_000n + 170n * 1_000_000n);
    for (let i = 0; i < 80; i++) for (let c = 0; c < 2; c++) expect(b.data[i * 2 + c]).toBe(valueAt(170 + i, c));
  });

  it('property: chunks arrive in order; delivered + overwritten frames = frames written; read(n) is never torn', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 300 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 120 }).map((n) => ({ w: n })), fc.constant({ r: 1 }), fc.integer({ min: 1, max: 64 }).map((n) => ({ n }))), {
          maxLength: 200,
        }),
        (cap, ops) => {
          const rate = 8000;
          const sab = createSampleRing({ channels: 1, rate, format: 's16le', capacityFrames: cap, chunks: 64 });
          const w = new SampleRingWriter(sab);
          const reader = new SampleRingReader(sab);
          let delivered = 0;
          let lastEnd = -1n;
          for (const o of ops) {
            if ('w' in o) writeChunk(w, Math.min(o.w, cap), rate, 0n);
            else if ('r' in o) {
              const c = reader.next();
              if (c) {
                expect(c.startFrame).toBeGreaterThanOrEqual(lastEnd);
                for (let i = 0; i < c.frames; i++) expect(c.data[i]).toBe(valueAt(Number(c.startFrame) + i, 0));
                lastEnd = c.startFrame + BigInt(c.frames);
                delivered += c.frames;
              }
            } else {
              const written = Number(w.framesWritten);
              const b = reader.read(Math.min(o.n, cap));
              expect(b.frames).toBe(Math.min(o.n, cap, written));
              for (let i = 0; i < b.frames; i++) expect(b.data[i]).toBe(valueAt(Number(b.startFrame) + i, 0));
            }
          }
          let c;
          while ((c = reader.next())) delivered += c.frames;
          expect(delivered + reader.drops().overwritten).toBe(Number(w.framesWritten));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('maps capture time to frame index and back', () => {
    const rate = 48000;
    const sab = createSampleRing({ channels: 1, rate, format: 'f32le', capacityFrames: 48000 });
    const w = new SampleRingWriter(sab);
    const r = new SampleRingReader(sab);
    const t0 = 1_000_000_000n;
    writeChunk(w, 4800, rate, t0);
    expect(r.captureNsOf(2400n)).toBe(t0 + 50_000_000n);
    expect(r.frameAt(t0 + 50_000_000n)).toBe(2400n);
    expect(r.frameAt(t0 - 1n)).toBeNull();
  });

  it('counts a reported xrun in frames and flags the next chunk', () => {
    const sab = createSampleRing({ channels: 1, rate: 1000, format: 's32le', capacityFrames: 100 });
    const w = new SampleRingWriter(sab);
    const r = new SampleRingReader(sab);
    writeChunk(w, 10, 1000, 0n);
    w.reportDrop('driver', 37);
    writeChunk(w, 10, 1000, 0n);
    expect(r.next()!.flags & 1).toBe(0);
    expect(r.next()!.flags & 1).toBe(1);
    expect(r.drops().driver).toBe(37);
  });

  it('property: read(n) under a writer that laps it mid-copy returns the newest consistent samples or throws OverrunError, never torn data', () => {
    /** A reader whose copy lets the writer run in the middle of it (the interleaving a real lapping writer makes). */
    class Interleaved extends SampleRingReader {
      laps: number[] = [];
      constructor(sab: SharedArrayBuffer, private readonly lap: (frames: number) => void) {
        super(sab);
      }
      protected override copyOut(start: bigint, frames: number, out: SampleArray): void {
        const half = Math.floor(frames / 2);
        super.copyOut(start, half, out);
        const n = this.laps.shift();
        if (n) this.lap(n);
        const rest = out.subarray(half * 2) as SampleArray; // 2 channels
        super.copyOut(start + BigInt(half), frames - half, rest);
      }
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 12 }),
        (cap, nRaw, laps) => {
          const n = Math.min(nRaw, cap);
          const rate = 8000;
          const sab = createSampleRing({ channels: 2, rate, format: 's16le', capacityFrames: cap, chunks: 64 });
          const w = new SampleRingWriter(sab);
          writeChunk(w, cap + 7, rate, 0n);
          const r = new Interleaved(sab, (frames) => writeChunk(w, frames, rate, 0n));
          r.laps = [...laps];
          const tornEveryTime = laps.length >= 8 && laps.slice(0, 8).every((x) => x > 0);
          let b;
          try {
            b = r.read(n);
          } catch (e) {
            expect(e).toBeInstanceOf(OverrunError);
            expect(tornEveryTime).toBe(true);
            return;
          }
          expect(b.frames).toBe(n);
          for (let i = 0; i < b.frames; i++)
            for (let c = 0; c < 2; c++) expect(b.data[i * 2 + c]).toBe(valueAt(Number(b.startFrame) + i, c));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('read(n) never comes up short while a writer thread commits between its loads (an empty block with no capture time, seen in CI)', async () => {
    // The ring holds far more than n and the writer reserves 512 frames at a time, so every read must return
    // the newest n frames and a capture time. Bounded: 400 000 reads or 3 s, whichever comes first.
    const cap = 8192;
    const n = 256;
    const sab = createSampleRing({ channels: 2, rate: 48000, format: 's16le', capacityFrames: cap, chunks: 64 });
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.core).then((core) => {
         const w = new core.SampleRingWriter(workerData.sab);
         const stop = new Int32Array(workerData.stop);
         parentPort.postMessage('writing');
         while (Atomics.load(stop, 0) === 0) {
           const r = w.reserve(512);
           w.commit(r.frames, BigInt(Number(r.startFrame) + 1));
         }
         parentPort.postMessage('done');
       });`,
      { eval: true, workerData: { core: CORE, sab, stop: stop.buffer } },
    );
    const done = new Promise((res, rej) => (w.on('message', (m) => m === 'done' && res(m)), w.once('error', rej)));
    const r = new SampleRingReader(sab);
    while (r.framesWritten() < BigInt(cap)) await new Promise((res) => setTimeout(res, 1));
    const into = new Int16Array(n * 2);
    let reads = 0;
    const short: number[] = [];
    const until = Date.now() + 3000;
    while (reads < 400_000 && Date.now() < until) {
      for (let k = 0; k < 1000; k++, reads++) {
        const b = r.read(n, into);
        if (b.frames !== n || b.captureNs === null) short.push(b.frames);
      }
    }
    Atomics.store(stop, 0, 1);
    await done;
    expect(reads).toBeGreaterThan(1000);
    expect(short, `${short.length} of ${reads} reads came up short (frames: ${short.slice(0, 8).join(', ')}…)`).toEqual([]);
  });

  it('read(n) against a real writer thread lapping a small ring: every block is consistent or an OverrunError', async () => {
    const cap = 256;
    const sab = createSampleRing({ channels: 2, rate: 48000, format: 's16le', capacityFrames: cap, chunks: 256 });
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.core).then((core) => {
         const w = new core.SampleRingWriter(workerData.sab);
         const end = Date.now() + 1500;
         while (Date.now() < end) {
           const r = w.reserve(1 + (Number(w.framesWritten) % 97));
           const start = Number(r.startFrame);
           for (let i = 0; i < r.frames; i++) for (let c = 0; c < 2; c++) r.samples[i * 2 + c] = ((start + i) * 7 + c * 1000) % 32768;
           w.commit(r.frames, 0n);
         }
         parentPort.postMessage('done');
       });`,
      { eval: true, workerData: { core: CORE, sab } },
    );
    const done = new Promise((res, rej) => (w.once('message', res), w.once('error', rej)));
    let finished = false;
    void done.then(() => (finished = true));
    const r = new SampleRingReader(sab);
    let blocks = 0;
    let overruns = 0;
    let bad = 0;
    const into = new Int16Array(cap * 2);
    while (!finished) {
      for (let k = 0; k < 200; k++) {
        try {
          const b = r.read(cap, into);
          blocks++;
          for (let i = 0; i < b.frames; i++) if (b.data[i * 2 + 1] !== valueAt(Number(b.startFrame) + i, 1)) bad++;
        } catch (e) {
          if (!(e instanceof OverrunError)) throw e;
          overruns++;
        }
      }
      await new Promise((res) => setImmediate(res));
    }
    expect(bad).toBe(0);
    expect(blocks + overruns).toBeGreaterThan(100);
  });
});
