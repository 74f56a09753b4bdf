/**
 * The source conformance suite: one set of vitest checks every source runs against itself — the built-in
 * ones against real drivers and fakes alike, and any user's own plugin.
 *
 * @example
 * ```ts
 * import { runSourceConformance } from '@senseflow/core/testing';
 * runSourceConformance('my-imu', { open: () => openSource(new URL('../src/imu.js', import.meta.url), { hz: 100 }) });
 * ```
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, take, toArray, timeout } from 'rxjs';
import { InvalidStateError, SenseflowError } from '../errors.js';
import type { SourceItem } from '../items.js';
import { FrameRingViews } from '../ring/frame-ring.js';
import { SlotI32 } from '../ring/layout.js';
import type { Source } from '../source.js';
import { frameBytes } from '../formats.js';

export interface ConformanceOptions {
  /** Opens a fresh, started source (openSource's default autoStart). */
  open: () => Promise<Source<SourceItem>>;
  /** Expected stream kind, if the test wants to pin it. */
  kind?: 'video' | 'audio' | 'records';
  /** Items to collect in the streaming checks (default 5). */
  items?: number;
  /** Budget for waiting on items (default 20 s: emulators and real devices can be slow to start). */
  timeoutMs?: number;
  /** Skip the whole suite with this reason (e.g. "no /dev/video0: run in the kernel VM"). */
  skip?: string | false;
}

const CORE_INDEX = new URL('../index.js', import.meta.url);

/** Registers the conformance checks in the current vitest file. */
export function runSourceConformance(name: string, o: ConformanceOptions): void {
  const n = o.items ?? 5;
  const budget = o.timeoutMs ?? 20_000;
  const suite = o.skip ? describe.skip : describe;
  suite(`conformance: ${name}${o.skip ? ` (skipped: ${o.skip})` : ''}`, () => {
    let src: Source<SourceItem>;
    beforeAll(async () => {
      src = await o.open();
    }, budget);
    afterAll(async () => {
      await src?.close();
    });

    it('describes its stream with a valid spec', () => {
      expect(['video', 'audio', 'records']).toContain(src.spec.kind);
      if (o.kind) expect(src.spec.kind).toBe(o.kind);
      expect(src.state).toBe('running');
      expect(src.ring).toBeInstanceOf(SharedArrayBuffer);
    });

    it(`delivers ${n} items in order with sane capture times`, async () => {
      const items = await firstValueFrom(
        src.frames$.pipe(
          take(n),
          // Copy: views are only valid during the callback.
          toArray(),
          timeout(budget),
        ),
      );
      const copies = items.map((i) => ({ seq: i.seq, captureNs: i.captureNs, receiveNs: i.receiveNs }));
      const now = process.hrtime.bigint();
      for (let k = 0; k < copies.length; k++) {
        const c = copies[k];
        expect(c.captureNs).toBeGreaterThan(0n);
        expect(c.captureNs).toBeLessThanOrEqual(now);
        // Capture precedes (or equals) receipt, with 5 ms of slack for clocks read on different paths.
        expect(c.captureNs - c.receiveNs).toBeLessThan(5_000_000n);
        if (k > 0) {
          expect(c.seq).toBeGreaterThan(copies[k - 1].seq);
          expect(c.captureNs).toBeGreaterThanOrEqual(copies[k - 1].captureNs);
        }
      }
    }, budget + 5000);

    it('latest() returns the newest item with a payload of the spec size', async () => {
      await firstValueFrom(src.frames$.pipe(take(1), timeout(budget)));
      const item = src.latest();
      expect(item).not.toBeNull();
      const spec = src.spec;
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
        expect(item!.data.length).toBe(item!.frames * spec.channels);
        const block = src.read(Math.min(spec.ring.capacityFrames, 256));
        expect(block.data.length).toBe(block.frames * spec.channels);
        expect(block.captureNs).not.toBeNull();
      }
      const head = item!.seq;
      await lastValueFrom(src.frames$.pipe(take(2), timeout(budget)));
      expect(src.latest()!.seq).toBeGreaterThan(head);
    }, budget * 2);

    it('a reader in another worker sees the same items through the ring', async () => {
      const w = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads');
         import(workerData.core).then(async ({ attachReader }) => {
           const r = attachReader(workerData.ring);
           const deadline = Date.now() + workerData.budget;
           const i32 = new Int32Array(workerData.ring, 0, 64);
           for (;;) {
             const v = r.latest();
             if (v) { const seq = String(v.seq); r.release(); parentPort.postMessage({ seq }); return; }
             if (Date.now() > deadline) { parentPort.postMessage({ error: 'no item within budget' }); return; }
             Atomics.wait(i32, 5, Atomics.load(i32, 5), 100);
           }
         }).catch((e) => parentPort.postMessage({ error: String(e) }));`,
        { eval: true, workerData: { core: CORE_INDEX.href, ring: src.ring, budget } },
      );
      const msg = await new Promise<{ seq?: string; error?: string }>((res) => w.once('message', res));
      await w.terminate();
      expect(msg.error).toBeUndefined();
      expect(BigInt(msg.seq!)).toBeGreaterThanOrEqual(0n);
    }, budget + 5000);

    it('stats$ reports rate and drops by cause', async () => {
      const s = await firstValueFrom(src.stats$.pipe(timeout(budget)));
      expect(s.items).toBeGreaterThan(0);
      expect(s.rate).toBeGreaterThanOrEqual(0);
      for (const cause of ['driver', 'ringFull', 'disconnect', 'restart', 'overwritten']) expect(typeof s.drops[cause]).toBe('number');
    }, budget + 5000);

    it('stop() halts new items and start() resumes', async () => {
      await src.stop();
      expect(src.state).toBe('stopped');
      const before = src.latest()?.seq ?? -1n;
      await new Promise((r) => setTimeout(r, 300));
      expect(src.latest()?.seq ?? -1n).toBe(before);
      await src.start();
      await firstValueFrom(src.frames$.pipe(take(1), timeout(budget)));
      expect(src.latest()!.seq).toBeGreaterThan(before);
    }, budget * 2);

    it('unsubscribing releases every ring lease', async () => {
      if (src.spec.kind === 'audio') return; // sample rings have no leases: readers copy or validate
      const sub = src.frames$.subscribe(() => {});
      await lastValueFrom(src.frames$.pipe(take(2), timeout(budget)));
      sub.unsubscribe();
      src.latest(); // re-lease the newest through the accessor only
      const v = new FrameRingViews(src.ring);
      let held = 0;
      for (let s = 0; s < v.g.slots; s++) {
        const lease = Atomics.load(v.meta32, v.m32(s, SlotI32.LEASE));
        if (lease > 0) held += lease;
      }
      expect(held).toBeLessThanOrEqual(1); // only latest()'s own lease
    }, budget + 5000);

    it('close() is idempotent, completes frames$, and every method then throws InvalidStateError', async () => {
      let completed = false;
      src.frames$.subscribe({ complete: () => (completed = true) });
      await src.close();
      await src.close();
      expect(completed).toBe(true);
      expect(src.state).toBe('closed');
      expect(() => src.latest()).toThrow(InvalidStateError);
      await expect(src.start()).rejects.toMatchObject({ code: 'ESTATE' });
      await expect(src.stop()).rejects.toMatchObject({ code: 'ESTATE' });
      const err = await new Promise((res) => src.frames$.subscribe({ error: res }));
      expect(SenseflowError.isInstance(err)).toBe(true);
      expect(err).toBeInstanceOf(InvalidStateError);
    });
  });
}
