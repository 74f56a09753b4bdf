import { describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, take, timeout, toArray, map } from 'rxjs';
import { InvalidOptionError, ItemFlags } from '@senseflow/core';
import { runSourceConformance } from '@senseflow/core/testing';
import { PATTERN_FORMATS, decodePattern, makeBarsRow, openTestPattern, patternGeometry, renderPattern } from '@senseflow/source-video';

runSourceConformance('test pattern', { open: () => openTestPattern({ width: 320, height: 240, fps: 60 }), kind: 'video' });

describe('test pattern', () => {
  it.each(PATTERN_FORMATS)('encodes seq and capture time recoverably in %s pixels', (format) => {
    const g = patternGeometry(320, 240, format);
    const out = new Uint8Array(g.stride * g.height);
    const bars = makeBarsRow(g);
    for (const [seq, t] of [
      [0n, 1n],
      [12345n, 987654321012345n],
      [2n ** 40n + 7n, 2n ** 62n - 3n],
    ]) {
      renderPattern(out, g, bars, seq, t);
      expect(decodePattern(out, g)).toEqual({ seq, captureNs: t });
    }
  });

  it('frames carry their own seq and capture time in the pixels, end to end through the ring', async () => {
    await using cam = await openTestPattern({ width: 256, height: 144, fps: 120, pixelFormat: 'yuyv' });
    const g = patternGeometry(256, 144, 'yuyv');
    const got = await lastValueFrom(
      cam.frames$.pipe(
        map((f) => ({ meta: { seq: f.seq, captureNs: f.captureNs }, px: decodePattern(f.data, g), flags: f.flags, len: f.data.byteLength })),
        take(30),
        toArray(),
        timeout(10_000),
      ),
    );
    for (const f of got) {
      expect(f.px).toEqual(f.meta);
      expect(f.len).toBe(256 * 144 * 2);
      expect(f.flags & ItemFlags.KEY).toBe(ItemFlags.KEY);
    }
  });

  it('paces frames at the requested rate (capture times ≈ 1/fps apart, on average)', async () => {
    await using cam = await openTestPattern({ width: 64, height: 32, fps: 50 });
    const t = await lastValueFrom(cam.frames$.pipe(map((f) => f.captureNs), take(26), toArray(), timeout(10_000)));
    const meanMs = Number(t[t.length - 1] - t[0]) / 1e6 / (t.length - 1);
    // Mean spacing, not a timing assertion on one frame: missed ticks are skipped and counted, never bursted.
    expect(meanMs).toBeGreaterThan(15);
    expect(meanMs).toBeLessThan(40);
  });

  it('rejects bad options with typed errors naming the parameter and the choices', async () => {
    const e = await openTestPattern({ pixelFormat: 'h264' as never }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect((e as Error).message).toBe("expected one of rgb24, bgr24, rgba, gray8, yuyv for `pixelFormat` but received 'h264'");
    await expect(openTestPattern({ fps: 0 })).rejects.toThrowError(/`fps`/);
    await expect(openTestPattern({ width: 10 })).rejects.toThrowError(/`width`/);
  });

  it('latest() is the newest frame and stays intact while held', async () => {
    await using cam = await openTestPattern({ width: 128, height: 64, fps: 200, slots: 3 });
    await firstValueFrom(cam.frames$.pipe(take(1), timeout(5000)));
    const g = patternGeometry(128, 64, 'rgb24');
    const f = cam.latest()!;
    const seq = f.seq;
    await new Promise((r) => setTimeout(r, 100)); // ~20 newer frames pass through 3 slots
    expect(decodePattern(f.data, g).seq).toBe(seq); // the held slot was skipped by the writer
    expect(cam.latest()!.seq).toBeGreaterThan(seq);
  });
});
