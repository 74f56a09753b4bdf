import { readFileSync } from 'node:fs';
import { chunkCaptureTime, framesToNs, lostFramesBetween, type ReadStamp } from '@senseflow/source-audio';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

interface Rec {
  n?: number;
  idx?: number;
  ts?: string;
  avail?: number;
  delay?: number;
  now?: string;
  code?: number;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/aloop-read-stamps.json', import.meta.url), 'utf8')) as { rate: number; records: Rec[] };
const RATE = fixture.rate;
const stampOf = (r: Rec): ReadStamp => ({ tsNs: BigInt(r.ts!), availFrames: r.avail!, delayFrames: r.delay!, nowNs: BigInt(r.now!) });
const MAX_LAG = 2_000_000_000n;

describe('framesToNs', () => {
  // The reference: integer arithmetic on BigInts (what framesToNs computed before its double fast path).
  const reference = (frames: number, rate: number) => (BigInt(Math.round(frames)) * 1_000_000_000n + BigInt(rate >> 1)) / BigInt(rate);
  it('equals the BigInt integer arithmetic for every frame count and rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e7, max: 2e7 }), fc.integer({ min: 1, max: 1_536_000 }), (frames, rate) => framesToNs(frames, rate) === reference(frames, rate)),
      { numRuns: 20000 },
    );
    for (const rate of [8000, 44100, 48000, 96000, 192000, 7, 1_536_000])
      for (const frames of [0, 1, 63, 64, 65, 4799, 4800, 9_007_199, 9_007_200, 1e8, 1e12])
        expect(framesToNs(frames, rate)).toBe(reference(frames, rate));
  });
});

describe('chunk capture times', () => {
  it('back-dates the driver stamp by the frames waiting plus the chunk', () => {
    const s: ReadStamp = { tsNs: 10_000_000_000n, availFrames: 96, delayFrames: 96, nowNs: 10_001_000_000n };
    const t = chunkCaptureTime(s, 480, 48000, MAX_LAG);
    expect(t.fallback).toBe(false);
    expect(t.captureNs).toBe(10_000_000_000n - 12_000_000n); // (96 + 480) / 48000 s = 12 ms
  });

  it('counts hardware FIFO delay beyond avail', () => {
    const s: ReadStamp = { tsNs: 5_000_000_000n, availFrames: 0, delayFrames: 48, nowNs: 5_000_000_000n };
    expect(chunkCaptureTime(s, 480, 48000, MAX_LAG).captureNs).toBe(5_000_000_000n - 11_000_000n);
  });

  it('falls back to the receive time when the stamp is missing, in the future or stale, and says so', () => {
    const now = 50_000_000_000n;
    for (const tsNs of [0n, now + 5_000_000n, now - 3_000_000_000n]) {
      const t = chunkCaptureTime({ tsNs, availFrames: 0, delayFrames: 480, nowNs: now }, 480, 48000, MAX_LAG);
      expect(t.fallback).toBe(true);
      expect(t.captureNs).toBe(now - 20_000_000n);
    }
  });

  it('recorded snd-aloop stamps: capture times follow the played ramp within ±3 ms (the 4 ms jiffy)', () => {
    // The ramp's frame idx was played (and so captured) at playStart + idx / rate: captureNs − idx/rate is constant.
    const recs = fixture.records.filter((r) => r.n && r.idx! >= 0);
    expect(recs.length).toBeGreaterThan(100);
    const offsets = recs.map((r) => Number(chunkCaptureTime(stampOf(r), r.n!, RATE, MAX_LAG).captureNs - framesToNs(r.idx!, RATE)) / 1e6);
    const mid = [...offsets].sort((a, b) => a - b)[offsets.length >> 1];
    for (const o of offsets) expect(Math.abs(o - mid)).toBeLessThan(3);
    // and without the back-dating they would not: the raw stamps wander by the avail (up to several ms)
    const raw = recs.map((r) => Number(BigInt(r.ts!) - framesToNs(r.idx!, RATE)) / 1e6);
    expect(Math.max(...raw) - Math.min(...raw)).toBeGreaterThan(Math.max(...offsets) - Math.min(...offsets));
  });

  it('recorded overrun: the loss measured from capture times matches the ramp jump within 1 ms', () => {
    const i = fixture.records.findIndex((r) => r.code === -1);
    expect(i).toBeGreaterThan(0);
    const before = fixture.records[i - 1];
    const after = fixture.records[i + 1];
    const truth = after.idx! - (before.idx! + before.n!);
    expect(truth).toBeGreaterThan(RATE / 10); // a real gap (the capture thread stalled 350 ms)
    const a = chunkCaptureTime(stampOf(before), before.n!, RATE, MAX_LAG);
    const b = chunkCaptureTime(stampOf(after), after.n!, RATE, MAX_LAG);
    const lost = lostFramesBetween(a.captureNs, before.n!, b.captureNs, RATE);
    expect(Math.abs(lost - truth)).toBeLessThan(RATE / 1000);
  });

  it('lostFramesBetween: contiguous chunks lose nothing, jitter never goes negative', () => {
    const t0 = 1_000_000_000n;
    expect(lostFramesBetween(t0, 480, t0 + framesToNs(480, 48000), 48000)).toBe(0);
    expect(lostFramesBetween(t0, 480, t0 + framesToNs(470, 48000), 48000)).toBe(0);
    expect(lostFramesBetween(t0, 480, t0 + framesToNs(480 + 4800, 48000), 48000)).toBe(4800);
  });
});
