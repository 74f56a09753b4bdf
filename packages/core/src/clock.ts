/**
 * One clock for everything: CLOCK_MONOTONIC nanoseconds (what `process.hrtime.bigint()` reads on Linux),
 * the same clock V4L2 buffer timestamps and ALSA htstamps use, so driver stamps and ours compare directly.
 * One anchor pairs it with wall-clock time for humans and file metadata.
 */

/** Nanoseconds on CLOCK_MONOTONIC. */
export const monotonicNs = (): bigint => process.hrtime.bigint();

export interface ClockAnchor {
  /** CLOCK_MONOTONIC ns at the anchor. */
  monotonicNs: bigint;
  /** Wall-clock ms since the epoch at the same instant. */
  wallTimeMs: number;
}

function takeAnchor(): ClockAnchor {
  // Bracket Date.now() between two monotonic reads and take the midpoint: error ≤ half the bracket.
  const a = monotonicNs();
  const wall = Date.now();
  const b = monotonicNs();
  return { monotonicNs: a + (b - a) / 2n, wallTimeMs: wall };
}

let anchor: ClockAnchor | undefined;

/** The process-wide wall-clock anchor (taken once, on first use). */
export function clockAnchor(): ClockAnchor {
  return (anchor ??= takeAnchor());
}

/** Converts a monotonic capture time to a wall-clock `Date` using the process anchor. */
export function toWallTime(ns: bigint, a: ClockAnchor = clockAnchor()): Date {
  return new Date(a.wallTimeMs + Number(ns - a.monotonicNs) / 1e6);
}

/** Nanoseconds → milliseconds as a number (for latency arithmetic; never for storing stamps). */
export const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Waits until the monotonic clock reaches `deadlineNs`. Long waits yield to the event loop (setTimeout);
 * the last ≤ 2 ms is a short Atomics.wait so pacing at 1 kHz stays accurate — this blocks the calling
 * thread briefly, which is why sources call it only from their own worker.
 */
/** When sleepUntil last let the event loop run (per thread). */
let lastTurn = 0;

export async function sleepUntil(deadlineNs: bigint, signal?: AbortSignal): Promise<void> {
  for (;;) {
    if (signal?.aborted) return;
    const remainingMs = Number(deadlineNs - monotonicNs()) / 1e6;
    if (remainingMs <= 0) return;
    if (remainingMs > 2.5) {
      // Long waits end early on abort, so stopping a slow (0.1 Hz) source is prompt.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.floor(remainingMs - 2));
        signal?.addEventListener('abort', done, { once: true });
      });
    } else {
      // Short waits block (timers are too coarse), which never reaches the event loop: a loop paced at
      // ≥ 400 Hz would starve its thread's messages (stop/close). Give the loop a turn every 5 ms.
      if (performance.now() - lastTurn > 5) {
        await new Promise<void>((r) => setImmediate(r));
        lastTurn = performance.now();
        continue;
      }
      Atomics.wait(sleepCell, 0, 0, remainingMs);
      return;
    }
  }
}

/** The clock a source sees in its context. */
export interface Clock {
  now(): bigint;
  anchor: ClockAnchor;
  sleepUntil(deadlineNs: bigint, signal?: AbortSignal): Promise<void>;
  toWallTime(ns: bigint): Date;
}

export function createClock(a: ClockAnchor = clockAnchor()): Clock {
  return { now: monotonicNs, anchor: a, sleepUntil, toWallTime: (ns) => toWallTime(ns, a) };
}
