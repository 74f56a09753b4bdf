import { describe, expect, it } from 'vitest';
import { lastValueFrom, map, take, timeout, toArray } from 'rxjs';
import { InvalidOptionError } from '@senseflow/core';
import { runSourceConformance } from '@senseflow/core/testing';
import { fillTone, openTone } from '@senseflow/source-audio';

runSourceConformance('tone', { open: () => openTone({ rate: 16000, channels: 1 }), kind: 'audio' });

/** Frequency by counting rising zero crossings (enough for a clean sine). */
function zeroCrossHz(x: ArrayLike<number>, channels: number, rate: number): number {
  let n = 0;
  for (let i = channels; i < x.length; i += channels) if (x[i - channels] < 0 && x[i] >= 0) n++;
  return (n * rate) / (x.length / channels);
}

describe('tone', () => {
  it('generates a continuous sine: chunks join without a phase jump', () => {
    const a = new Int16Array(480 * 2);
    const b = new Int16Array(480 * 2);
    const whole = new Int16Array(960 * 2);
    const shape = { frequency: 1000, chirpSeconds: 1, levelDb: -6 };
    fillTone(a, 2, 48000, 's16le', shape, 0);
    fillTone(b, 2, 48000, 's16le', shape, 480);
    fillTone(whole, 2, 48000, 's16le', shape, 0);
    expect([...a, ...b]).toEqual([...whole]);
    expect(Math.max(...whole)).toBe(Math.round(32767 * 10 ** (-6 / 20)));
  });

  it('read(n) returns the last n samples at the requested frequency, with capture times matching the rate', async () => {
    await using mic = await openTone({ rate: 48000, channels: 2, frequency: 1000, format: 'f32le' });
    await lastValueFrom(mic.frames$.pipe(take(60), timeout(10_000)));
    const block = mic.read(24000);
    expect(block.frames).toBe(24000);
    expect(block.data).toBeInstanceOf(Float32Array);
    expect(zeroCrossHz(block.data, 2, 48000)).toBeCloseTo(1000, -1);
    const chunks = await lastValueFrom(mic.frames$.pipe(map((c) => ({ s: c.startFrame, t: c.captureNs, n: c.frames })), take(10), toArray(), timeout(10_000)));
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i].s).toBe(chunks[i - 1].s + BigInt(chunks[i - 1].n)); // contiguous
      const dtNs = chunks[i].t - chunks[i - 1].t;
      expect(dtNs).toBe((BigInt(chunks[i - 1].n) * 1_000_000_000n) / 48000n); // the generator is the clock
    }
  });

  it('reports a level meter on stats$', async () => {
    await using mic = await openTone({ rate: 16000, channels: 1, levelDb: -12 }, { statsIntervalMs: 200 });
    const s = await lastValueFrom(mic.stats$.pipe(take(2), timeout(10_000)));
    expect(s.level!.peakDb[0]).toBeCloseTo(-12, 0);
    expect(s.level!.rmsDb[0]).toBeCloseTo(-15, 0); // a sine's RMS is 3 dB under its peak
    expect(s.sampleRate).toBeGreaterThan(8000);
  });

  it('rejects bad options with typed errors', async () => {
    await expect(openTone({ format: 'u8' as never })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(openTone({ frequency: 30000, rate: 48000 })).rejects.toThrowError(/from 0 to 24000 for `frequency`/);
  });
});
