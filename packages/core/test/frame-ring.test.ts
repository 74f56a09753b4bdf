import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameRingReader, FrameRingViews, FrameRingWriter, I32, InvalidOptionError, RingState, SlotI32, createFrameRing } from '@senseflow/core';

/** Payload of item `seq`: its bytes depend on seq, so a torn (mixed) payload is detectable. */
function fill(data: Uint8Array, seq: bigint, len: number): void {
  const s = Number(seq);
  for (let i = 0; i < len; i++) data[i] = (s * 31 + i * 7) & 0xff;
}
function check(data: Uint8Array, seq: bigint): boolean {
  const s = Number(seq);
  for (let i = 0; i < data.length; i++) if (data[i] !== ((s * 31 + i * 7) & 0xff)) return false;
  return true;
}

describe('frame ring', () => {
  it('rejects bad geometry with typed errors naming the parameter', () => {
    expect(() => createFrameRing({ slots: 1, slotBytes: 10 })).toThrow(InvalidOptionError);
    expect(() => createFrameRing({ slots: 4, slotBytes: 0 })).toThrowError(/`slotBytes`/);
    expect(() => new FrameRingReader(new SharedArrayBuffer(1024))).toThrowError(/`sab`/);
  });

  it('writes in place and reads back with metadata', () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 64 });
    const w = new FrameRingWriter(sab, { width: 8, height: 2, stride: 32, format: 7 });
    const r = new FrameRingReader(sab);
    expect(r.next()).toBeNull();
    const slot = w.begin()!;
    fill(slot.data, 0n, 48);
    expect(w.commit(slot, 48, 123n, 456n)).toBe(0n);
    const v = r.next()!;
    expect(v.seq).toBe(0n);
    expect(v.captureNs).toBe(123n);
    expect(v.receiveNs).toBe(456n);
    expect(v.byteLength).toBe(48);
    expect([v.width, v.height, v.stride, v.format]).toEqual([8, 2, 32, 7]);
    expect(check(v.data, 0n)).toBe(true);
    // Zero copy: the view is over the ring's own memory.
    expect(v.data.buffer).toBe(sab);
  });

  it('never hands the writer a slot a reader holds, and counts ringFull when all are held', () => {
    const sab = createFrameRing({ slots: 2, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    const r1 = new FrameRingReader(sab, { from: 'oldest' });
    const r2 = new FrameRingReader(sab, { from: 'oldest' });
    w.write(new Uint8Array([1]), 1n);
    w.write(new Uint8Array([2]), 2n);
    const a = r1.next()!; // holds seq 0
    const b = r2.latest()!; // holds seq 1
    expect(a.seq).toBe(0n);
    expect(b.seq).toBe(1n);
    expect(w.begin()).toBeNull();
    expect(r1.drops().ringFull).toBe(1);
    expect(a.data[0]).toBe(1);
    r1.release();
    const s = w.begin()!;
    expect(s.index).toBe(a.slot);
    w.abort(s);
  });

  it('property: any interleaving of writes, reads, latest and releases delivers in order, untorn, with exact loss counts', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('write' as const), len: fc.integer({ min: 0, max: 32 }) }),
      fc.record({ t: fc.constant('next' as const), r: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ t: fc.constant('latest' as const), r: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ t: fc.constant('release' as const), r: fc.integer({ min: 0, max: 2 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.array(op, { maxLength: 300 }), (slots, ops) => {
        const sab = createFrameRing({ slots, slotBytes: 32 });
        const w = new FrameRingWriter(sab);
        const readers = [0, 1, 2].map(() => new FrameRingReader(sab));
        const delivered = [0, 0, 0];
        const lastSeq = [-1n, -1n, -1n];
        let committed = 0n;
        let dropped = 0;
        for (const o of ops) {
          if (o.t === 'write') {
            const slot = w.begin();
            if (!slot) {
              dropped++;
              continue;
            }
            fill(slot.data, w.nextSeq, o.len);
            w.commit(slot, o.len, w.nextSeq);
            committed++;
          } else if (o.t === 'next') {
            const v = readers[o.r].next();
            if (v) {
              expect(v.seq).toBeGreaterThan(lastSeq[o.r]);
              expect(check(v.data, v.seq)).toBe(true);
              lastSeq[o.r] = v.seq;
              delivered[o.r]++;
            }
          } else if (o.t === 'latest') {
            const v = readers[o.r].latest();
            if (committed > 0n) {
              // Never older than the newest complete item (unless a writer drop made it unavailable).
              expect(v).not.toBeNull();
              expect(v!.seq).toBe(committed - 1n);
              expect(check(v!.data, v!.seq)).toBe(true);
            }
          } else readers[o.r].release();
        }
        expect(readers[0].drops().ringFull).toBe(dropped);
        // Drain: delivered + overwritten accounts for every committed item, exactly.
        readers.forEach((r, i) => {
          let v;
          while ((v = r.next())) {
            expect(check(v.data, v.seq)).toBe(true);
            delivered[i]++;
          }
          expect(delivered[i] + r.drops().overwritten).toBe(Number(committed));
          r.release();
        });
        // Every lease is back.
        const views = new FrameRingViews(sab);
        for (let s = 0; s < slots; s++) expect(Atomics.load(views.meta32, views.m32(s, SlotI32.LEASE))).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('flags the item after a reported drop as a discontinuity and counts gaps', () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    const r = new FrameRingReader(sab);
    w.write(new Uint8Array(1), 1n);
    w.reportDrop('driver', 3);
    w.write(new Uint8Array(1), 2n);
    expect(r.next()!.flags & 1).toBe(0);
    expect(r.next()!.flags & 1).toBe(1);
    expect(r.drops().driver).toBe(3);
    expect(r.gaps()).toBe(1);
  });

  it('skipTo keeps relayed seq numbers: skipped seqs are a counted gap, not overwrites', () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    const r = new FrameRingReader(sab);
    w.write(new Uint8Array([0]), 1n); // seq 0
    w.skipTo(3n); // seqs 1 and 2 were lost upstream
    expect(w.write(new Uint8Array([3]), 2n)).toBe(3n);
    expect(r.next()!.seq).toBe(0n);
    const v = r.next()!;
    expect(v.seq).toBe(3n);
    expect(v.flags & 1).toBe(1);
    expect(r.next()).toBeNull();
    expect(r.drops().driver).toBe(2);
    expect(r.drops().overwritten).toBe(0);
  });

  it('a reader that polls between skipTo and the next commit still gets the item after the skip', () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    const r = new FrameRingReader(sab);
    w.write(new Uint8Array([0]), 1n); // seq 0
    expect(r.next()!.seq).toBe(0n);
    w.skipTo(9n); // the sender's next item is seq 9; not written yet
    expect(r.next()).toBeNull();
    w.write(new Uint8Array([9]), 2n);
    const v = r.next()!;
    expect(v.seq).toBe(9n);
    expect(v.data[0]).toBe(9);
    expect(r.drops().driver).toBe(8);
  });

  it('a skip longer than the ring is neither overwritten nor (with count=false) a drop', () => {
    const sab = createFrameRing({ slots: 4, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    const r = new FrameRingReader(sab); // attached before anything was written
    w.skipTo(1000n, 'driver', false); // a relay joining a stream at seq 1000
    w.write(new Uint8Array([1]), 1n);
    expect(r.next()!.seq).toBe(1000n);
    expect(r.drops().overwritten).toBe(0);
    expect(r.drops().driver).toBe(0);
  });

  it('hold() … flush(): items committed in one go wake the readers once, after the last; state changes are never held', () => {
    const sab = createFrameRing({ slots: 8, slotBytes: 8 });
    const w = new FrameRingWriter(sab);
    const head = new Int32Array(sab, 0, 64);
    const wakes = () => [head[I32.NOTIFY], head[I32.BATCH]];
    const before = wakes();
    w.hold();
    for (let i = 0; i < 3; i++) w.write(Uint8Array.of(i), BigInt(i));
    expect(wakes()).toEqual(before); // committed, nobody woken yet
    expect(new FrameRingReader(sab, { from: 'oldest' }).pending()).toBe(3);
    w.setState(RingState.running);
    const afterState = wakes();
    expect(afterState).toEqual([before[0] + 1, before[1] + 1]);
    w.flush();
    expect(wakes()).toEqual([afterState[0] + 1, afterState[1] + 1]); // one wake-up for the three
    w.flush();
    expect(wakes()).toEqual([afterState[0] + 1, afterState[1] + 1]); // nothing owed: nothing more
  });
});
