import { describe, expect, it } from 'vitest';
import { clockAnchor, monotonicNs, sleepUntil, toWallTime } from '@senseflow/core';

describe('clock', () => {
  it('anchors monotonic time to wall time', () => {
    const a = clockAnchor();
    const now = toWallTime(monotonicNs());
    expect(Math.abs(now.getTime() - Date.now())).toBeLessThan(50);
    expect(toWallTime(a.monotonicNs).getTime()).toBe(a.wallTimeMs);
  });

  it('sleepUntil reaches its deadline and never returns early', async () => {
    const deadline = monotonicNs() + 30_000_000n;
    await sleepUntil(deadline);
    expect(monotonicNs()).toBeGreaterThanOrEqual(deadline);
  });

  it('sleepUntil ends at once when its signal aborts, even far from the deadline', async () => {
    const ac = new AbortController();
    const t0 = monotonicNs();
    setTimeout(() => ac.abort(), 20);
    await sleepUntil(t0 + 10_000_000_000n, ac.signal); // 10 s away
    expect(Number(monotonicNs() - t0) / 1e6).toBeLessThan(5000);
  });
});
