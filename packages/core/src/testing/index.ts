/**
 * The source conformance suite: one set of checks every source runs against itself — the built-in ones
 * against their real drivers and servers, relays against real senders, and any user's own plugin. Every
 * check can fail: `packages/core/test/conformance.test.ts` runs each against a deliberately broken source.
 *
 * @example
 * ```ts
 * import { runSourceConformance } from '@senseflow/core/testing';
 * runSourceConformance('my-imu', { open: () => openSource(new URL('../src/imu.js', import.meta.url), { hz: 100 }) });
 * ```
 * Any `Source` works — a local plugin, a network `connect()`, a NATS `openRemote()`: `open` only has to
 * return a fresh, started one. The checks are also exported one by one ({@link conformanceChecks}).
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, take, toArray, timeout } from 'rxjs';
import { InvalidStateError, SenseflowError } from '../errors.js';
import type { SourceItem } from '../items.js';
import { FrameRingViews } from '../ring/frame-ring.js';
import { SlotI32 } from '../ring/layout.js';
import type { Source, SourceStats } from '../source.js';
import { frameBytes } from '../formats.js';

/**
 * Rejects with `no <what> within <ms> ms` if `p` has not settled by then: a test that waits on several
 * things fails naming the one that never came, instead of with a bare test timeout.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export interface ConformanceOptions {
  /** Opens a fresh, started source (openSource's default autoStart). */
  open: () => Promise<Source<SourceItem>>;
  /** Expected stream kind, if the test wants to pin it. */
  kind?: 'video' | 'audio' | 'records';
  /** Items to collect in the streaming checks (default 5). */
  items?: number;
  /** Budget for waiting on items (default 20 s: emulators and real devices can be slow to start). */
  timeoutMs?: number;
  /**
   * Items per second the stream should deliver (audio: frames per second), checked within a factor of 2.
   * Default: the spec's nominal rate (`fps`, `rate`); `false` for a stream with no steady rate (a relay of
   * a bursty sender).
   */
  rate?: number | false;
  /** Skip the whole suite with this reason (e.g. "no /dev/video0: run in the kernel VM"). */
  skip?: string | false;
}

/** What a check gets besides the source. */
export interface ConformanceSettings {
  items: number;
  timeoutMs: number;
  kind?: 'video' | 'audio' | 'records';
  rate?: number | false;
}

export interface ConformanceCheck {
  name: string;
  /** Resolves when the source conforms; throws (an assertion error) when it does not. */
  run(src: Source<SourceItem>, s: ConformanceSettings): Promise<void>;
}

const CORE_INDEX = new URL('../index.js', import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A cheap fingerprint of an item's bytes (sampled; the same function runs in the reader worker). */
function fingerprint(b: Uint8Array): number {
  let h = 0x811c9dc5 ^ b.length;
  const step = Math.max(1, Math.floor(b.length / 4096));
  for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return h >>> 0;
}

const bytesOf = (item: SourceItem): Uint8Array => {
  const d = item.kind === 'records' ? item.values : item.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

/** Items (audio: frames) per second the stream should deliver, or null when not checked. */
function nominalRate(src: Source<SourceItem>, s: ConformanceSettings): number | null {
  if (s.rate === false) return null;
  if (typeof s.rate === 'number') return s.rate;
  const spec = src.spec;
  return spec.kind === 'video' ? spec.fps : spec.rate;
}

/** One item period in ms (audio: a period of frames), for waits that must outlast a tick. */
function periodMs(src: Source<SourceItem>): number {
  const spec = src.spec;
  if (spec.kind === 'audio') return (1000 * Math.max(1, spec.periodFrames)) / spec.rate;
  return 1000 / (spec.kind === 'video' ? spec.fps : spec.rate);
}

/** One round of the cross-worker check: how many items both sides saw, and the first disagreement. */
async function readFromWorker(src: Source<SourceItem>, s: ConformanceSettings): Promise<{ common: number; mismatch?: string }> {
  const here = new Map<bigint, { captureNs: bigint; print: number }>();
  let newest = -1n;
  const sub = src.frames$.subscribe((i) => {
    here.set(i.seq, { captureNs: i.captureNs, print: fingerprint(bytesOf(i)) });
    if (i.seq > newest) newest = i.seq;
  });
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const fingerprint = ${fingerprint.toString()};
     import(workerData.core).then(async ({ attachReader }) => {
       const r = attachReader(workerData.ring);
       const i32 = new Int32Array(workerData.ring, 0, 64);
       const deadline = Date.now() + workerData.budget;
       const got = [];
       while (got.length < 8) {
         const v = r.next();
         if (v) {
           const d = v.data;
           got.push({ seq: String(v.seq), captureNs: String(v.captureNs), print: fingerprint(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)) });
           r.release();
           continue;
         }
         if (Date.now() > deadline) break;
         // NOTIFY (5), counted in WAITERS (15) so a native writer wakes us too (the 100 ms bound covers the race).
         Atomics.add(i32, 15, 1);
         Atomics.wait(i32, 5, Atomics.load(i32, 5), 100);
         Atomics.sub(i32, 15, 1);
       }
       parentPort.postMessage(got.length ? { got } : { error: 'no new item within the budget' });
     }).catch((e) => parentPort.postMessage({ error: String(e) }));`,
    { eval: true, workerData: { core: CORE_INDEX.href, ring: src.ring, budget: s.timeoutMs } },
  );
  try {
    const msg = await new Promise<{ got?: Array<{ seq: string; captureNs: string; print: number }>; error?: string }>((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
    if (msg.error) return { common: 0, mismatch: `reader in another worker: ${msg.error}` };
    const last = BigInt(msg.got![msg.got!.length - 1].seq);
    // This thread delivers every item too (a little later): wait until it is past the worker's last one.
    const until = Date.now() + s.timeoutMs;
    while (newest < last && Date.now() < until) await sleep(10);
    let common = 0;
    for (const g of msg.got!) {
      const mine = here.get(BigInt(g.seq));
      if (!mine) continue;
      common++;
      if (BigInt(g.captureNs) !== mine.captureNs) return { common, mismatch: `seq ${g.seq}: capture time ${g.captureNs} in the worker, ${mine.captureNs} here` };
      if (g.print !== mine.print) return { common, mismatch: `seq ${g.seq}: the bytes differ between the worker and this thread` };
    }
    return { common };
  } finally {
    sub.unsubscribe();
    await w.terminate();
  }
}

export const conformanceChecks: readonly ConformanceCheck[] = [
  {
    name: 'describes its stream with a valid spec',
    async run(src, s) {
      const spec = src.spec;
      expect(['video', 'audio', 'records']).toContain(spec.kind);
      if (s.kind) expect(spec.kind).toBe(s.kind);
      if (spec.kind === 'video') {
        expect(spec.width).toBeGreaterThan(0);
        expect(spec.height).toBeGreaterThan(0);
        expect(spec.fps).toBeGreaterThan(0);
      } else if (spec.kind === 'audio') {
        expect(spec.rate).toBeGreaterThan(0);
        expect(spec.channels).toBeGreaterThan(0);
      } else {
        expect(spec.fields.length).toBeGreaterThan(0);
        expect(spec.rate).toBeGreaterThan(0);
      }
      expect(src.state).toBe('running');
      expect(src.ring).toBeInstanceOf(SharedArrayBuffer);
    },
  },
  {
    name: 'delivers items in order with sane capture times',
    async run(src, s) {
      const items = await firstValueFrom(src.frames$.pipe(take(s.items), toArray(), timeout(s.timeoutMs)));
      const copies = items.map((i) => ({ seq: i.seq, captureNs: i.captureNs, receiveNs: i.receiveNs }));
      const now = process.hrtime.bigint();
      for (let k = 0; k < copies.length; k++) {
        const c = copies[k];
        expect(c.captureNs).toBeGreaterThan(0n);
        expect(c.captureNs).toBeLessThanOrEqual(now);
        expect(c.receiveNs).toBeLessThanOrEqual(now);
        // Capture precedes (or equals) receipt, with 5 ms of slack for clocks read on different paths.
        expect(c.captureNs - c.receiveNs).toBeLessThan(5_000_000n);
        if (k > 0) {
          expect(c.seq).toBeGreaterThan(copies[k - 1].seq);
          expect(c.captureNs).toBeGreaterThanOrEqual(copies[k - 1].captureNs);
        }
      }
    },
  },
  {
    name: 'latest() is never older than the newest delivered item, with a payload of the spec size',
    async run(src, s) {
      // Inside the callback the delivered item is complete, so latest() must be it or newer.
      const seen: Array<[bigint, bigint]> = [];
      await new Promise<void>((resolve, reject) => {
        const sub = src.frames$.pipe(timeout(s.timeoutMs)).subscribe({
          next: (i) => {
            seen.push([i.seq, src.latest()?.seq ?? -1n]);
            if (seen.length >= 3) {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
      });
      for (const [delivered, newest] of seen) expect(newest).toBeGreaterThanOrEqual(delivered);
      const item = src.latest();
      expect(item).not.toBeNull();
      const spec = src.spec;
      expect(item!.kind).toBe(spec.kind);
      if (item!.kind === 'video' && spec.kind === 'video') {
        const raw = frameBytes(spec.pixelFormat, spec.width, spec.height);
        if (raw !== null) expect(item!.data.byteLength).toBe(raw);
        else expect(item!.data.byteLength).toBeGreaterThan(0);
        expect(item!.width).toBe(spec.width);
        expect(item!.height).toBe(spec.height);
      } else if (item!.kind === 'records' && spec.kind === 'records') {
        expect(item!.values.length).toBe(spec.fields.length);
        expect(item!.fields).toEqual(spec.fields.map((f) => f.name));
      } else if (item!.kind === 'audio' && spec.kind === 'audio') {
        expect(item!.frames).toBeGreaterThan(0);
        expect(item!.data.length).toBe(item!.frames * spec.channels);
        const block = src.read(Math.min(spec.ring.capacityFrames, 256));
        expect(block.data.length).toBe(block.frames * spec.channels);
        expect(block.captureNs).not.toBeNull();
      }
      const head = item!.seq;
      await lastValueFrom(src.frames$.pipe(take(2), timeout(s.timeoutMs)));
      expect(src.latest()!.seq).toBeGreaterThan(head);
    },
  },
  {
    name: 'a reader in another worker sees the same items, bytes and times through the ring',
    async run(src, s) {
      // A worker attached to the ring reads the next items written after it attached (so the ring is live,
      // not a stale copy); every one this thread was also delivered must match it in seq, time and bytes.
      // A loaded machine can make this thread lap (items overwritten before delivery): try again then.
      for (let attempt = 1; ; attempt++) {
        const { common, mismatch } = await readFromWorker(src, s);
        if (mismatch) expect.fail(mismatch);
        if (common > 0) return;
        if (attempt >= 3) expect.fail('this thread was delivered none of the items the worker read (3 attempts)');
      }
    },
  },
  {
    name: 'stats$ reports the state, a rate that matches the stream, and drops by cause',
    async run(src, s) {
      const stats: SourceStats[] = await firstValueFrom(src.stats$.pipe(take(3), toArray(), timeout(s.timeoutMs + 5000)));
      const [s0, s1, s2] = stats;
      for (const st of stats) {
        expect(st.state).toBe('running');
        for (const cause of ['driver', 'ringFull', 'disconnect', 'restart', 'overwritten']) {
          expect(Number.isInteger(st.drops[cause]), `drops.${cause}`).toBe(true);
          expect(st.drops[cause]).toBeGreaterThanOrEqual(0);
        }
        expect(st.gaps).toBeGreaterThanOrEqual(0);
      }
      // Items were written, and the last interval's rate is what its items say.
      expect(s2.items - s0.items, 'items written over two intervals').toBeGreaterThan(0);
      expect(s2.items).toBeGreaterThanOrEqual(s1.items);
      const written = s2.items - s1.items;
      const dt = Number(s2.atNs - s1.atNs) / 1e9;
      // Audio: `items` counts chunks and `rate` is frames per second; the chunks' rate is `chunkRate`.
      const itemRate = src.spec.kind === 'audio' ? s2.chunkRate! : s2.rate;
      expect(Math.abs(itemRate * dt - written), `items ${written} vs rate ${itemRate} over ${dt} s`).toBeLessThanOrEqual(Math.max(0.5, written * 0.01));
      // And the rate is the stream's own, within a factor of 2 (a loaded machine may be slower).
      const want = nominalRate(src, s);
      if (want !== null && want * dt >= 4) {
        const rate = src.spec.kind === 'audio' ? s2.sampleRate! : s2.rate;
        expect(rate, `rate ${rate} vs nominal ${want}`).toBeGreaterThan(want / 2);
        expect(rate, `rate ${rate} vs nominal ${want}`).toBeLessThan(want * 2);
      }
    },
  },
  {
    name: 'stop() halts new items and start() resumes',
    async run(src, s) {
      await src.stop();
      let state: string;
      let before: bigint;
      let after: bigint;
      try {
        state = src.state;
        before = src.latest()?.seq ?? -1n;
        await sleep(Math.max(300, 3 * periodMs(src)));
        after = src.latest()?.seq ?? -1n;
      } finally {
        // Running again whatever this check finds, so a failure here does not starve the checks after it.
        await src.start();
      }
      expect(state).toBe('stopped');
      expect(after, 'newest seq after stop() resolved').toBe(before);
      expect(src.state).toBe('running');
      await firstValueFrom(src.frames$.pipe(take(1), timeout(s.timeoutMs)));
      expect(src.latest()!.seq).toBeGreaterThan(before);
    },
  },
  {
    name: 'unsubscribing ends delivery and releases every ring lease',
    async run(src, s) {
      let after = 0;
      let unsubscribed = false;
      const sub = src.frames$.subscribe(() => {
        if (unsubscribed) after++;
      });
      await lastValueFrom(src.frames$.pipe(take(2), timeout(s.timeoutMs)));
      sub.unsubscribe();
      unsubscribed = true;
      // Other subscribers still get items meanwhile, so the stream is live while we watch for stray deliveries.
      await lastValueFrom(src.frames$.pipe(take(2), timeout(s.timeoutMs)));
      expect(after, 'items delivered after unsubscribe').toBe(0);
      if (src.spec.kind === 'audio') return; // sample rings have no leases: readers copy or validate
      src.latest(); // re-lease the newest through the accessor only
      const v = new FrameRingViews(src.ring);
      let held = 0;
      for (let slot = 0; slot < v.g.slots; slot++) {
        const lease = Atomics.load(v.meta32, v.m32(slot, SlotI32.LEASE));
        if (lease > 0) held += lease;
      }
      expect(held, 'leases held').toBeLessThanOrEqual(1); // only latest()'s own lease
    },
  },
  {
    name: 'close() is idempotent, completes frames$, and every method then throws InvalidStateError',
    async run(src) {
      let completed = false;
      src.frames$.subscribe({ complete: () => (completed = true) });
      await Promise.all([src.close(), src.close()]);
      await src.close();
      expect(completed).toBe(true);
      expect(src.state).toBe('closed');
      expect(() => src.latest()).toThrow(InvalidStateError);
      await expect(src.start()).rejects.toMatchObject({ code: 'ESTATE' });
      await expect(src.stop()).rejects.toMatchObject({ code: 'ESTATE' });
      const err = await new Promise((res) => src.frames$.subscribe({ error: res }));
      expect(SenseflowError.isInstance(err)).toBe(true);
      expect(err).toBeInstanceOf(InvalidStateError);
    },
  },
];

/** The settings a check runs with, from the suite's options. */
export function conformanceSettings(o: Omit<ConformanceOptions, 'open'>): ConformanceSettings {
  return { items: o.items ?? 5, timeoutMs: o.timeoutMs ?? 20_000, kind: o.kind, rate: o.rate };
}

/** Registers the conformance checks in the current vitest file (one source opened for all, closed by the last). */
export function runSourceConformance(name: string, o: ConformanceOptions): void {
  const s = conformanceSettings(o);
  const suite = o.skip ? describe.skip : describe;
  suite(`conformance: ${name}${o.skip ? ` (skipped: ${o.skip})` : ''}`, () => {
    let src: Source<SourceItem>;
    beforeAll(async () => {
      src = await o.open();
    }, s.timeoutMs);
    afterAll(async () => {
      await src?.close();
    });
    for (const check of conformanceChecks) it(check.name, () => check.run(src, s), 2 * s.timeoutMs + 10_000);
  });
}
