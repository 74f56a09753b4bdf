/**
 * RingConsumer: the one ring consumer. Ends when the ring closes (after taking everything committed before
 * the close), ends on abort and close(), counts loss per cause exactly, validates copies, and batches
 * wake-ups without losing or reordering anything (against a real writer thread).
 */
import { getEventListeners } from 'node:events';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  FrameRingWriter,
  HEADER_BYTES,
  I32,
  InvalidOptionError,
  ItemFlags,
  InvalidStateError,
  RingConsumer,
  RingState,
  SampleRingWriter,
  consumeFrames,
  consumeSamples,
  createFrameRing,
  createSampleRing,
  markRingClosed,
  openSource,
  type RecordItem,
  type RingConsumerOptions,
} from '@senseflow/core';

const CORE = pathToFileURL(createRequire(import.meta.url).resolve('@senseflow/core')).href;

/** A writer thread: `count` records at `hz` (busy-paced with Atomics.wait), then the ring is closed. */
function paceWriter(sab: SharedArrayBuffer, count: number, hz: number): Promise<number> {
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.core).then((core) => {
       const w = new core.FrameRingWriter(workerData.sab);
       const cell = new Int32Array(new SharedArrayBuffer(4));
       const period = 1e9 / workerData.hz;
       const t0 = process.hrtime.bigint();
       w.setState(1);
       for (let i = 0; i < workerData.count; i++) {
         const due = t0 + BigInt(Math.round(i * period));
         for (let now = process.hrtime.bigint(); now < due; now = process.hrtime.bigint()) Atomics.wait(cell, 0, 0, Number(due - now) / 1e6);
         const slot = w.begin();
         if (!slot) continue;
         new Float64Array(slot.data.buffer, slot.data.byteOffset, 1)[0] = i;
         w.commit(slot, 8, process.hrtime.bigint());
       }
       w.setState(3);
       parentPort.postMessage(workerData.count);
     }).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`,
    { eval: true, workerData: { core: CORE, sab, count, hz } },
  );
  return new Promise((resolve, reject) => {
    w.once('message', (m) => (typeof m === 'number' ? resolve(m) : reject(new Error(m.error))));
    w.once('error', reject);
  });
}

/**
 * A writer thread that commits item i at `timesMs[i]` after it starts (Atomics.wait-paced), then keeps the
 * ring open for `holdMs` without a commit or state change, then closes it.
 */
function scheduleWriter(sab: SharedArrayBuffer, timesMs: number[], holdMs: number): Promise<number> {
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.core).then((core) => {
       const w = new core.FrameRingWriter(workerData.sab);
       const cell = new Int32Array(new SharedArrayBuffer(4));
       const t0 = performance.now();
       const until = (t) => { for (let now = performance.now(); now < t; now = performance.now()) Atomics.wait(cell, 0, 0, t - now); };
       w.setState(1);
       workerData.timesMs.forEach((t, i) => {
         until(t0 + t);
         const slot = w.begin();
         new Float64Array(slot.data.buffer, slot.data.byteOffset, 1)[0] = i;
         w.commit(slot, 8, process.hrtime.bigint());
       });
       until(performance.now() + workerData.holdMs);
       w.setState(3);
       parentPort.postMessage(workerData.timesMs.length);
     }).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`,
    { eval: true, workerData: { core: CORE, sab, timesMs, holdMs } },
  );
  return new Promise((resolve, reject) => {
    w.once('message', (m) => (typeof m === 'number' ? resolve(m) : reject(new Error(m.error))));
    w.once('error', reject);
  });
}

/** Consumes until the ring closes, counting wake-ups, items and items out of order (each holds its index). */
async function countBatches(c: RingConsumer): Promise<{ items: number; wakes: number; outOfOrder: number }> {
  const n = { items: 0, wakes: 0, outOfOrder: 0 };
  while (await c.wait()) {
    n.wakes++;
    for (let v = c.take(); v; v = c.take()) {
      if (new Float64Array(v.data.buffer, v.data.byteOffset, 1)[0] !== n.items) n.outOfOrder++;
      n.items++;
    }
  }
  return n;
}

/** Takes items until `n` arrived, noting when each did (performance.now()). */
async function arrivals(c: RingConsumer, n: number): Promise<number[]> {
  const at: number[] = [];
  while (at.length < n && (await c.wait())) for (let v = c.take(); v; v = c.take()) at.push(performance.now());
  return at;
}

/**
 * A writer thread commits `hz` items at `hz` items a second into a new ring (4096 slots: 2 s of slack at
 * 2 kHz, a loaded machine stalls us); a consumer with `opts` counts them and its wake-ups. Checks that every
 * item arrived, in order, none lost.
 */
async function oneSecondAt(hz: number, opts: RingConsumerOptions) {
  const sab = createFrameRing({ slots: 4096, slotBytes: 8 });
  const c = consumeFrames(sab, opts);
  const [, n] = await within(Promise.all([paceWriter(sab, hz, hz), countBatches(c)]), 20_000, `the ${hz} Hz stream`);
  expect(n.outOfOrder).toBe(0);
  expect(n.items).toBe(hz);
  expect(c.drops()).toMatchObject({ overwritten: 0, ringFull: 0 });
  return n;
}

/**
 * A writer thread commits at `timesMs` into a new ring and keeps it open `holdMs` more; returns when each
 * item reached a consumer on this thread, failing unless all arrive within `withinMs`.
 */
async function arrivalsOf(timesMs: number[], holdMs: number, withinMs: number, what: string): Promise<number[]> {
  const sab = createFrameRing({ slots: 256, slotBytes: 8 });
  const c = consumeFrames(sab);
  const writer = scheduleWriter(sab, timesMs, holdMs);
  try {
    return await within(arrivals(c, timesMs.length), withinMs, what);
  } finally {
    c.close();
    await writer;
  }
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms).unref())]);

describe('RingConsumer', () => {
  it('validates its options', () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    expect(() => new RingConsumer(sab, { maxDelayMs: -1 })).toThrow(InvalidOptionError);
    expect(() => new RingConsumer(sab, { maxBatch: 0 })).toThrowError(/`maxBatch`/);
    expect(() => new RingConsumer(sab, { maxBatchMs: -1 })).toThrowError(/`maxBatchMs`/);
    expect(() => new RingConsumer(sab, { from: 'middle' as never })).toThrowError(/`from`/);
    expect(() => new RingConsumer(new SharedArrayBuffer(8))).toThrowError(/`sab`/);
    expect(() => consumeSamples(sab)).toThrow(InvalidStateError);
  });

  it('ends when the ring closes, after taking every item committed before the close', async () => {
    const sab = createFrameRing({ slots: 8, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    const c = consumeFrames(sab);
    const got: bigint[] = [];
    const done = (async () => {
      for await (const v of c) got.push(v.seq);
    })();
    for (let i = 0; i < 5; i++) w.write(new Uint8Array(8), BigInt(i));
    w.setState(RingState.closed);
    await within(done, 5000, 'iteration');
    expect(got).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('a sleeping reader counts itself in WAITERS: a writer that commits without waking (native code) sees it and has it woken', async () => {
    const sab = createSampleRing({ channels: 1, rate: 1000, format: 's16le', capacityFrames: 64 });
    const i32 = new Int32Array(sab, 0, HEADER_BYTES / 4);
    const w = new SampleRingWriter(sab);
    const c = consumeSamples(sab, { maxDelayMs: 0 });
    let woke = false;
    const waiting = c.wait().then((r) => (woke = r));
    await new Promise((r) => setTimeout(r, 20));
    expect(Atomics.load(i32, I32.WAITERS)).toBe(1);
    // A commit that wakes nobody, as CapturePcm makes: a second writer object over the same ring (all its
    // positions are in shared memory), held so that commit() notifies no one, stands in for the native code.
    const flags = w.nativeBegin();
    const native = new SampleRingWriter(sab);
    native.hold();
    native.reserve(8);
    native.commit(8, 1_000_000n);
    await new Promise((r) => setTimeout(r, 50));
    expect(woke).toBe(false); // asleep through the commit: the wake-up has to come from JavaScript
    expect(Atomics.load(i32, I32.WAITERS)).toBe(1); // … which the native writer knows it owes
    w.nativeDone(1, flags);
    expect(await within(waiting, 5000, 'wait() after nativeDone')).toBe(true);
    expect(Atomics.load(i32, I32.WAITERS)).toBe(0);
    expect(c.take()?.frames).toBe(8);
    // Items already there: wait() returns at once and leaves no count behind.
    w.reserve(8);
    w.commit(8, 2_000_000n);
    expect(await c.wait()).toBe(true);
    expect(Atomics.load(i32, I32.WAITERS)).toBe(0);
    c.close();
  });

  it('nativeDone() gives back flags no chunk carried: the next chunk has them', () => {
    const sab = createSampleRing({ channels: 1, rate: 1000, format: 's16le', capacityFrames: 64 });
    const w = new SampleRingWriter(sab);
    const c = consumeSamples(sab, { from: 'oldest' });
    w.reportDrop('driver', 5);
    const flags = w.nativeBegin();
    expect(flags & ItemFlags.DISCONTINUITY).toBeTruthy();
    w.nativeDone(0, flags); // it committed nothing
    w.reserve(4);
    w.commit(4, 1n);
    expect(c.take()!.flags & ItemFlags.DISCONTINUITY).toBeTruthy();
    c.close();
  });

  it('markRingClosed ends consumers of a ring whose writer is gone (a terminated worker)', async () => {
    const sab = createSampleRing({ channels: 1, rate: 1000, format: 's16le', capacityFrames: 64 });
    new SampleRingWriter(sab).write(new Int16Array(10), 0n);
    const c = consumeSamples(sab, { from: 'oldest' });
    const waiting = c.wait();
    expect(await waiting).toBe(true);
    expect(c.take()?.frames).toBe(10);
    const next = c.wait();
    markRingClosed(sab);
    expect(await within(next, 5000, 'wait()')).toBe(false);
  });

  it('ends on abort and on close(), waking a pending wait, and removes its abort listener', async () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    const ac = new AbortController();
    const a = new RingConsumer(sab, { signal: ac.signal });
    const b = new RingConsumer(sab, { signal: ac.signal });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(2);
    const wa = a.wait();
    const wb = b.wait();
    b.close();
    expect(await within(wb, 5000, 'wait() after close')).toBe(false);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    expect(await within(wa, 5000, 'wait() after abort')).toBe(false);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    // After the end, take() still drains what the ring holds.
    new FrameRingWriter(sab).write(new Uint8Array(8), 1n);
    expect(await a.wait()).toBe(false);
    expect(new RingConsumer(sab, { from: 'oldest', signal: ac.signal }).take()?.seq).toBe(0n);
  });

  it('a loop that waits without taking never starves the event loop (items left pending yield a turn)', async () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    new FrameRingWriter(sab).write(new Uint8Array(8), 0n);
    const c = new RingConsumer(sab, { from: 'oldest' });
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const t0 = performance.now();
    while (!fired && performance.now() - t0 < 2000) await c.wait();
    expect(fired).toBe(true);
    c.close();
  });

  it('the async iterator yields at most maxBatch items per wake-up, then lets the event loop run', async () => {
    const sab = createFrameRing({ slots: 64, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    for (let i = 0; i < 40; i++) w.write(new Uint8Array(8), BigInt(i));
    w.setState(RingState.closed);
    const c = new RingConsumer(sab, { from: 'oldest', maxBatch: 10 });
    let turnAt = -1;
    const seen: number[] = [];
    for await (const v of c) {
      seen.push(Number(v.seq));
      if (seen.length === 1) setImmediate(() => (turnAt = seen.length)); // runs at the event loop's next turn
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(turnAt).toBe(10); // the first batch was cut at maxBatch, then the loop got its turn
  });

  it('a batch is also bounded in time: a consumer slower than maxBatchMs per item gives the loop a turn after each', async () => {
    const sab = createFrameRing({ slots: 64, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    for (let i = 0; i < 6; i++) w.write(new Uint8Array(8), BigInt(i));
    w.setState(RingState.closed);
    const c = new RingConsumer(sab, { from: 'oldest', maxBatchMs: 5 });
    let turnAt = -1;
    const seen: number[] = [];
    for await (const v of c) {
      seen.push(Number(v.seq));
      if (seen.length === 1) setImmediate(() => (turnAt = seen.length));
      for (const end = performance.now() + 8; performance.now() < end; ); // 8 ms of work > the 5 ms budget
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(turnAt).toBe(1); // maxBatch (256) never came into it: the time budget cut the batch
  });

  it('a subscriber slower than the stream still lets timers run (the pump bounds each batch in time)', async () => {
    await using src = await openSource<RecordItem>(new URL('./fixtures/counter.mjs', import.meta.url), { hz: 500 });
    let delivered = 0;
    const sub = src.frames$.subscribe(() => {
      delivered++;
      for (const end = performance.now() + 20; performance.now() < end; ); // 20 ms per item at 500 Hz
    });
    await new Promise((r) => setTimeout(r, 100));
    const at = delivered;
    const fired = await new Promise<number>((r) => setTimeout(() => r(delivered), 0));
    sub.unsubscribe();
    // One batch at most ran between scheduling the timer and its firing (a 256-item batch was 5 s).
    expect(fired - at).toBeLessThanOrEqual(2);
  });

  it('idleMs: wait() returns true without items so a loop can do periodic work', async () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    const c = new RingConsumer(sab, { idleMs: 20 });
    expect(await within(c.wait(), 5000, 'idle wait')).toBe(true);
    expect(c.take()).toBeNull();
    c.close();
  });

  it('counts lapped items exactly: taken + overwritten = written (frame and sample rings)', () => {
    const fsab = createFrameRing({ slots: 4, slotBytes: 8 });
    const fw = new FrameRingWriter(fsab);
    const fc = consumeFrames(fsab);
    let taken = 0;
    for (let i = 0; i < 50; i++) {
      fw.write(new Uint8Array(8), BigInt(i));
      if (i % 7 === 0) for (let v = fc.take(); v; v = fc.take()) taken++;
    }
    for (let v = fc.take(); v; v = fc.take()) taken++;
    expect(taken + fc.drops().overwritten).toBe(50);
    expect(fc.drops().overwritten).toBeGreaterThan(0);

    const ssab = createSampleRing({ channels: 2, rate: 1000, format: 's16le', capacityFrames: 64, chunks: 64 });
    const sw = new SampleRingWriter(ssab);
    const sc = consumeSamples(ssab);
    let frames = 0;
    for (let i = 0; i < 40; i++) {
      sw.write(new Int16Array(2 * 10), BigInt(i));
      if (i % 9 === 0) for (let c = sc.take(); c; c = sc.take()) frames += c.frames;
    }
    for (let c = sc.take(); c; c = sc.take()) frames += c.frames;
    expect(frames + sc.drops().overwritten).toBe(400);
  });

  it('copy(): verified after copying — a chunk the writer tore is null and counted, never returned', () => {
    const sab = createSampleRing({ channels: 1, rate: 1000, format: 's16le', capacityFrames: 32, chunks: 16 });
    const w = new SampleRingWriter(sab);
    const c = consumeSamples(sab);
    w.write(Int16Array.from({ length: 16 }, (_, i) => i), 0n);
    const chunk = c.take()!;
    expect(Array.from(c.copy(chunk)!)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    // The writer reserves over the chunk (as it does mid-copy when it laps a reader): the copy is rejected.
    w.write(new Int16Array(16), 1n);
    w.reserve(16);
    expect(c.copy(chunk)).toBeNull();
    expect(c.drops().overwritten).toBe(16);

    const fsab = createFrameRing({ slots: 2, slotBytes: 4 });
    const fw = new FrameRingWriter(fsab);
    const fc = consumeFrames(fsab);
    fw.write(Uint8Array.of(1, 2, 3, 4), 0n);
    const v = fc.take()!;
    expect(Array.from(fc.copy(v)!)).toEqual([1, 2, 3, 4]); // held under a lease: always intact
  });

  it('batched delivery from a real 2 kHz writer thread loses nothing, keeps order, and wakes per batch', async () => {
    const count = 2000;
    const n = await oneSecondAt(count, { maxDelayMs: 4 });
    // Batched: well under one wake-up per item (at 2 kHz with a 4 ms window, ~8 items per wake-up).
    expect(n.wakes).toBeLessThan(count / 2);
  });

  it('default delay: a real 1 kHz writer wakes its reader once per batch (the writer holds every other wake-up back), nothing lost, in order', async () => {
    const count = 1000;
    const n = await oneSecondAt(count, {}); // maxDelayMs 1.5: the ring's batch gap
    // A wake-up per commit would be ~1000; the writer's batches make it ~500 (fewer when we fall behind).
    expect(n.wakes).toBeLessThan(count * 0.75);
  });

  it('a fast stream that stops without a state change still delivers the wake-up the writer held back', async () => {
    // 41 commits 0.25 ms apart (a fast stream: the writer holds wake-ups back), then 5 s of silence.
    // Without the reader's own timer the last items would wait for the close, 5 s later.
    const at = await arrivalsOf(Array.from({ length: 41 }, (_, i) => i * 0.25), 5000, 2500, 'the items of a stream that stopped');
    expect(at).toHaveLength(41);
  });

  it('a burst committed back to back, then silence: the reader gets every item, not just the ones before the writer held back', async () => {
    // 30 commits with no pause (a replay at full speed): the reader wakes once or twice for all of them and
    // cannot tell from its own wake-ups that the writer went into a fast run; the writer's BATCH_HOLDING says so.
    const at = await arrivalsOf(Array.from({ length: 30 }, () => 0), 5000, 2500, 'the items of a burst');
    expect(at).toHaveLength(30);
  });

  it('two items a slow stream commits together wake the reader at once (the writer holds back only in a fast run)', async () => {
    // Pairs 1 ms apart (within the batch gap) every 300 ms: a held-back second item would only come with the next pair.
    const pairs = 4;
    const times = Array.from({ length: pairs }, (_, i) => [i * 300, i * 300 + 1]).flat();
    const at = await arrivalsOf(times, 300, 10_000, 'the pairs');
    for (let i = 0; i < pairs; i++) expect(at[2 * i + 1] - at[2 * i], `pair ${i}: second item after the first`).toBeLessThan(150);
  });
});
