/**
 * Source lifecycle and item guarantees: close() is one promise for every caller and resolves after
 * teardown; closing ends every consumer of the ring (in other threads too, even when the worker was
 * terminated); after close every method throws; copies are verified and a copy of a copy is stable;
 * history(n) returns stable copies of the last n items.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import {
  FrameRingReader,
  FrameRingWriter,
  InvalidOptionError,
  InvalidStateError,
  OverrunError,
  createFrameRing,
  openSource,
  videoFrame,
  type RecordItem,
} from '@senseflow/core';

const CORE = pathToFileURL(createRequire(import.meta.url).resolve('@senseflow/core')).href;
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const openCounter = (opts: Record<string, unknown> = {}) => openSource<RecordItem>(fixture('counter.mjs'), { hz: 200, ...opts });
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what} did not end within ${ms} ms`)), ms).unref())]);

/** A RingConsumer in another thread: resolves with the items it took once it ends. */
function consumerThread(sab: SharedArrayBuffer): { ready: Promise<void>; ended: Promise<number> } {
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.core).then(async (core) => {
       const c = new core.RingConsumer(workerData.sab);
       parentPort.postMessage('ready');
       let n = 0;
       for await (const _ of c) n++;
       parentPort.postMessage({ n });
     });`,
    { eval: true, workerData: { core: CORE, sab } },
  );
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const ended = new Promise<number>((resolve, reject) => {
    w.on('message', (m) => (m === 'ready' ? ready() : resolve(m.n)));
    w.once('error', reject);
  });
  return { ready: readyP, ended: ended.finally(() => void w.terminate()) };
}

describe('Source lifecycle', () => {
  it('close() returns the same promise to every caller, resolved only after teardown', async () => {
    const src = await openCounter();
    const done: string[] = [];
    const events = lastValueFrom(src.events$.pipe(toArray())).then(() => done.push('events completed'));
    const a = src.close();
    const b = src.close();
    expect(b).toBe(a);
    await b;
    done.push('second close resolved');
    await events;
    expect(done).toEqual(['events completed', 'second close resolved']);
    expect(src.state).toBe('closed');
  });

  it('after close every method throws InvalidStateError, drops() included', async () => {
    const src = await openCounter();
    await src.close();
    for (const call of [
      () => src.drops(),
      () => src.latest(),
      () => src.history(1),
      () => src.read(1),
      () => src.start(),
      () => src.stop(),
      () => src.getControl('x'),
      () => src.setControl('x', 1),
      () => src.listControls(),
    ]) {
      const r = await Promise.resolve().then(call).catch((e: unknown) => e);
      expect(r).toBeInstanceOf(InvalidStateError);
    }
    await expect(firstValueFrom(src.frames$)).rejects.toBeInstanceOf(InvalidStateError);
  });

  for (const force of [false, true]) {
    it(`close(${force ? '{ force: true }' : ''}) ends every consumer of the ring: frames$ and a RingConsumer in another thread`, async () => {
      const src = await openCounter();
      const other = consumerThread(src.ring);
      await other.ready;
      const sub = lastValueFrom(src.frames$.pipe(toArray()));
      await firstValueFrom(src.frames$.pipe(take(5)));
      await src.close({ force });
      const [items, taken] = await within(Promise.all([sub, other.ended]), 5000, 'consumers');
      expect(items.length).toBeGreaterThan(0);
      expect(taken).toBeGreaterThan(0);
    });
  }
});

describe('items', () => {
  it('copy() of a copy is stable: it never reads the ring again', () => {
    const sab = createFrameRing({ slots: 2, slotBytes: 4 });
    const w = new FrameRingWriter(sab);
    const r = new FrameRingReader(sab);
    w.write(Uint8Array.of(1, 2, 3, 4), 0n);
    const v = r.next()!;
    const item = videoFrame(v, (x) => r.intact(x));
    const c1 = item.copy();
    r.release();
    for (let i = 0; i < 6; i++) w.write(Uint8Array.of(9, 9, 9, 9), BigInt(i)); // reuse every slot
    const c2 = c1.copy();
    expect(Array.from(c2.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(c2.copy().data)).toEqual([1, 2, 3, 4]);
    // The original view was overwritten after its lease ended: copying it now is an error, never torn bytes.
    expect(() => item.copy()).toThrow(OverrunError);
  });

  it('history(n): the last n items as stable copies, oldest first', async () => {
    await using src = await openCounter({ hz: 500, slots: 64 });
    await lastValueFrom(src.frames$.pipe(take(40)));
    const h = src.history(10);
    expect(h.length).toBeGreaterThanOrEqual(9); // the writer may hold one slot for the item it is writing
    for (let i = 1; i < h.length; i++) expect(h[i].seq).toBe(h[i - 1].seq + 1n);
    for (const it of h) expect(it.get('n')).toBe(Number(it.seq));
    const before = h.map((x) => x.get('twice'));
    await lastValueFrom(src.frames$.pipe(take(100))); // the ring wraps
    expect(h.map((x) => x.get('twice'))).toEqual(before);
    expect(() => src.history(0)).toThrow(InvalidOptionError);
    expect(() => src.history(65)).toThrowError(/from 1 to 64/);
  });
});
