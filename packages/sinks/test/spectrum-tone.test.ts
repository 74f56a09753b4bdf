// End to end on a real source: the tone generator runs in its own worker, the spectrum in the pool's.
import { afterAll, describe, expect, it } from 'vitest';
import { firstValueFrom, map, take, toArray, timeout } from 'rxjs';
import { openTone } from '@senseflow/source-audio';
import { closeSpectrumPool, peaks, spectrum } from '@senseflow/sinks';

afterAll(async () => {
  await closeSpectrumPool();
});

describe('spectrum() on the tone source', () => {
  it('finds the tone in every channel, with hop-aligned frames stamped from the source clock', async () => {
    const rate = 48_000;
    const size = 4096;
    const hop = 1024;
    await using src = await openTone({ frequency: 1000, rate, channels: 2, levelDb: -6 });
    await using spec = spectrum(src, { size, hop });
    await spec.ready;
    const frames = await firstValueFrom(spec.frames$.pipe(take(8), map((f) => f.copy()), toArray(), timeout(20_000)));
    const first = frames[0];
    expect(first.startFrame % BigInt(hop)).toBe(0n);
    frames.forEach((f, i) => {
      expect(f.seq).toBe(first.seq + BigInt(i));
      expect(f.startFrame).toBe(f.seq * BigInt(hop));
      // The tone stamps frame n at start + n / rate: the window's stamp follows its first sample exactly.
      const expectNs = first.captureNs + ((f.startFrame - first.startFrame) * 1_000_000_000n) / BigInt(rate);
      expect(Math.abs(Number(f.captureNs - expectNs))).toBeLessThanOrEqual(2);
      for (const ch of [0, 1]) {
        const [p] = peaks(f, { count: 1, channel: ch });
        expect(Math.abs(p.frequency - 1000)).toBeLessThan(rate / size);
        expect(p.value).toBeCloseTo(-6, 0);
      }
    });
    // Frames come after their samples were captured, and not long after (the ring is read in place).
    const now = process.hrtime.bigint();
    expect(frames.at(-1)!.captureNs).toBeLessThan(now);
    expect(spec.stats()).toMatchObject({ lost: 0 });
  });
});
