import { describe, expect, it } from 'vitest';
import { Reassembler, chunksOf, ClockSync, decodeChunk, encodeChunk, decodeFormat, encodeFormat, parseDataSubject, parseRemoteOptions } from '@senseflow/nats';
import fc from 'fast-check';

describe('nats wire (pure)', () => {
  it('subjects parse and reject bad tokens with a typed error', () => {
    expect(parseDataSubject('sf.robot1.arm.cam')).toEqual({ host: 'robot1', node: 'arm', stream: 'cam' });
    expect(() => parseDataSubject('sf.robot1.cam')).toThrowError(/`subject`/);
    expect(() => parseRemoteOptions({ subject: 'sf.a.b.c', clock: 'gps' })).toThrowError(/one of remote, local for `clock`/);
    expect(() => parseRemoteOptions({ subject: 'sf.a.b.c', servers: 'http://x' })).toThrowError(/`servers`/);
  });

  it('format and chunk headers round-trip', () => {
    expect(decodeFormat(encodeFormat({ w: 640, h: 480, f: 'rgb24' }))).toEqual({ w: '640', h: '480', f: 'rgb24' });
    expect(decodeChunk(encodeChunk({ index: 2, count: 7, total: 6220800 }))).toEqual({ index: 2, count: 7, total: 6220800 });
    expect(decodeChunk('7/7/10')).toBeNull();
    expect(decodeChunk('garbage')).toBeNull();
  });

  it('property: chunks reassemble to the original bytes; any lost chunk abandons the frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.integer({ min: 1, max: 700 }), fc.option(fc.nat()), (bytes, max, lose) => {
        const parts = chunksOf(bytes, max);
        const asm = new Reassembler();
        const out = new Uint8Array(bytes.length);
        const drop = lose === null ? -1 : lose % parts.length;
        let complete = false;
        let broken = false;
        parts.forEach((p, i) => {
          if (i === drop && parts.length > 1) return;
          const v = asm.accept(5n, { index: i, count: parts.length, total: bytes.length });
          if (v === 'broken') broken = true;
          if (broken) return;
          out.set(p, asm.offset);
          asm.addBytes(p.length);
          if (v === 'complete') complete = true;
        });
        if (drop >= 0 && parts.length > 1) expect(complete).toBe(false);
        else {
          expect(complete).toBe(true);
          expect(out).toEqual(bytes);
        }
      }),
    );
  });

  it('a lower seq (a restarted publisher) starts a new frame instead of being ignored', () => {
    const asm = new Reassembler();
    expect(asm.accept(900n, { index: 0, count: 2, total: 10 })).toBe('start');
    expect(asm.accept(900n, { index: 1, count: 2, total: 10 })).toBe('complete');
    expect(asm.accept(0n, { index: 0, count: 2, total: 10 })).toBe('start');
    expect(asm.accept(0n, { index: 1, count: 2, total: 10 })).toBe('complete');
  });

  it('clock offset: the probe with the shortest round trip wins, uncertainty is half of it', () => {
    const s = new ClockSync();
    // remote = local + 1000; one slow asymmetric probe, one fast one
    s.add(0n, 1000n + 90n, 100n); // rtt 100, true midpoint 50 → estimate off by 40
    const e = s.add(200n, 1000n + 205n, 210n); // rtt 10
    expect(e.offsetNs).toBe(1000n);
    expect(e.uncertaintyNs).toBe(5n);
    expect(s.toLocal(5000n)).toBe(4000n);
  });
});
