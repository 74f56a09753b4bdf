// The plugin helpers on their own (the worker runs them the same way): the paced loop keeps cadence and
// skips and counts overdue ticks instead of bursting; the record writer sizes records from the fields.
import { describe, expect, it } from 'vitest';
import { FrameRingReader, FrameRingWriter, InvalidOptionError, PacedLoop, RecordWriter, createClock, createFrameRing } from '@senseflow/core';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('PacedLoop', () => {
  it('ticks on absolute deadlines; an overdue tick is skipped and counted, never burst', async () => {
    const clock = createClock();
    const deadlines: bigint[] = [];
    const at: bigint[] = [];
    let missedReported = 0;
    const loop = new PacedLoop(clock, { hz: 100, onMissed: (n) => (missedReported += n) }, (t) => {
      deadlines.push(t.deadlineNs);
      at.push(clock.now());
      if (t.index === 10) busy(45); // 4.5 periods late for the next deadline
    });
    const t0 = clock.now();
    loop.start();
    await new Promise((r) => setTimeout(r, 400));
    await loop.stop();
    const elapsed = Number(clock.now() - t0) / 1e7; // periods
    const period = 10_000_000n;
    // Every deadline is on the grid t0 + k·period: ticks run + ticks missed = deadlines elapsed.
    for (let i = 1; i < deadlines.length; i++) expect((deadlines[i] - deadlines[0]) % period).toBe(0n);
    const lastK = Number((deadlines[deadlines.length - 1] - deadlines[0]) / period);
    expect(deadlines.length + loop.missed).toBe(lastK + 1);
    expect(loop.missed).toBeGreaterThanOrEqual(3);
    expect(missedReported).toBe(loop.missed);
    expect(loop.ticks).toBe(deadlines.length);
    expect(deadlines.length + loop.missed).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    // No burst after the stall: at most one tick follows it closely (the one still within its period).
    let close = 0;
    for (let i = 12; i < at.length; i++) if (at[i] - at[i - 1] < 2_000_000n) close++;
    expect(close).toBeLessThanOrEqual(1);
    // Nothing runs after stop() resolved.
    const n = deadlines.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(deadlines.length).toBe(n);
  });

  it('reports a throwing tick through onError and ends; validates its options', async () => {
    const clock = createClock();
    const err = await new Promise<unknown>((resolve) => {
      const loop = new PacedLoop(clock, { hz: 1000, onError: resolve }, (t) => {
        if (t.index === 3) throw new Error('sensor gone');
      });
      loop.start();
    });
    expect((err as Error).message).toBe('sensor gone');
    expect(() => new PacedLoop(clock, { hz: 0 }, () => {})).toThrow(InvalidOptionError);
    expect(() => new PacedLoop(clock, { hz: Number.NaN }, () => {})).toThrow(/`hz`/);
    expect(() => new PacedLoop(clock, { hz: 10, firstDelayMs: -1 }, () => {})).toThrow(/`firstDelayMs`/);
  });
});

describe('RecordWriter', () => {
  const setup = (slots = 4) => {
    const sab = createFrameRing({ slots, slotBytes: 3 * 8 });
    const w = new RecordWriter(new FrameRingWriter(sab), ['x', 'y', 'z'], () => 123n);
    return { sab, w, r: new FrameRingReader(sab, { from: 'oldest' }) };
  };

  it('writes one record from values by position or by name, sized from the fields', () => {
    const { w, r } = setup();
    expect(w.write([1, 2, 3], 10n)).toBe(0n);
    expect(w.write(new Float64Array([4, 5, 6]))).toBe(1n);
    expect(w.write({ z: 9, x: 7 })).toBe(2n);
    const got = [];
    for (let i = 0; i < 3; i++) {
      const v = r.next()!;
      got.push({ seq: v.seq, t: v.captureNs, len: v.byteLength, vals: [...new Float64Array(v.data.slice().buffer)] });
    }
    r.release();
    expect(got).toEqual([
      { seq: 0n, t: 10n, len: 24, vals: [1, 2, 3] },
      { seq: 1n, t: 123n, len: 24, vals: [4, 5, 6] },
      { seq: 2n, t: 123n, len: 24, vals: [7, Number.NaN, 9] },
    ]);
  });

  it('rejects a wrong count or an unknown field with a typed error naming `values`', () => {
    const { w } = setup();
    expect(() => w.write([1, 2])).toThrow(/3 numbers \(one per field: x, y, z\) for `values`/);
    const e = (() => {
      try {
        w.write({ x: 1, w: 2 });
      } catch (x) {
        return x as InvalidOptionError;
      }
    })();
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect(e!.details?.parameter).toBe('values');
    expect(() => w.write([1, 2, 3], 5 as unknown as bigint)).toThrow(/`captureNs`/);
  });

  it('returns null (a counted ringFull drop) when readers hold every slot, never waits', () => {
    const { sab, w } = setup(2);
    w.write([1, 1, 1]);
    w.write([2, 2, 2]);
    const a = new FrameRingReader(sab, { from: 'oldest' });
    const b = new FrameRingReader(sab, { from: 'oldest' });
    a.next();
    b.next();
    b.next();
    // b holds only its newest; hold the other with a third reader
    const c = new FrameRingReader(sab, { from: 'oldest' });
    c.next();
    expect(w.write([3, 3, 3])).toBeNull();
    expect(a.drops().ringFull).toBe(1);
  });
});
