// The flow-control window (flow.ts) on its own: rate measurement, floor, growth, and the ACK checks.
import { describe, expect, it } from 'vitest';
import { FlowWindow, WINDOW_SHARE } from '../src/flow.js';

describe('FlowWindow', () => {
  it('sizes the window as the measured drain rate × a share of maxAgeMs', () => {
    const w = new FlowWindow(1000, 0);
    // A client draining 640 KiB/s, acking every 25 ms, for a second.
    for (let t = 25; t <= 1000; t += 25) w.onAck(BigInt(Math.round((t / 1000) * 640 * 1024)), 10 << 20, t);
    expect(w.rate).toBeCloseTo(640 * 1024, -3);
    expect(w.window).toBeCloseTo(640 * 1024 * WINDOW_SHARE, -3);
  });

  it('never shrinks below the largest message offered, and lets one through when nothing is in flight', () => {
    const w = new FlowWindow(1000, 0);
    w.onAck(1000n, 1000, 1000); // 1 kB/s: a window of 400 bytes by rate alone
    expect(w.allows(1000, 230_456)).toBe(true); // nothing in flight
    expect(w.window).toBe(230_456);
    expect(w.allows(1000 + 230_456, 230_456)).toBe(false); // one in flight: the next waits for its ACK
    expect(w.allows(1000 + 100, 230_456)).toBe(false);
    expect(w.allows(1000 + 100, 1000)).toBe(true);
  });

  it('grows geometrically for a fast client: each window drained in an ACK interval measures a larger rate', () => {
    const w = new FlowWindow(1000, 0);
    let sent = 0;
    let t = 0;
    const sizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      sent += w.window; // the server fills the window, the client drains it within one ACK interval
      t += 25;
      w.onAck(BigInt(sent), sent, t);
      sizes.push(w.window);
    }
    expect(sizes.at(-1)).toBeGreaterThan(100 * 1024 * 1024);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeGreaterThan(sizes[i - 1]);
  });

  it('a stalled client lowers the rate once it acks again (the stall is in the measurement)', () => {
    const w = new FlowWindow(1000, 0);
    for (let t = 25; t <= 500; t += 25) w.onAck(BigInt(t * 10_000), 2 ** 34, t); // 10 MB/s
    const before = w.rate;
    w.onAck(5_100_000n, 2 ** 34, 3500); // 3 s later, 100 kB more
    expect(w.rate).toBeLessThan(before / 4);
  });

  it('refuses an ACK beyond what was sent, or going backwards', () => {
    const w = new FlowWindow(1000, 0);
    expect(() => w.onAck(2001n, 2000, 1)).toThrow(expect.objectContaining({ name: 'ProtocolError' }));
    expect(() => w.onAck(2n ** 64n - 1n, 2000, 1)).toThrow(/only 2000 were sent/);
    w.onAck(1500n, 2000, 2);
    expect(() => w.onAck(1499n, 2000, 3)).toThrow(/backwards/);
    w.onAck(1500n, 2000, 4); // the same count again is fine (nothing new consumed)
    expect(w.stats(2000)).toMatchObject({ ackedBytes: 1500, inFlightBytes: 500, acks: 2 });
  });
});
