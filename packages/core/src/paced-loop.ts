/**
 * A paced loop for source plugins: calls a tick function on absolute deadlines (`t0 + k·period`, no drift;
 * t0 is when the first tick ran) and never bursts to catch up. A tick whose deadline passed more than a period ago is skipped and counted
 * (`missed`, and by default a `driver` drop on the ring), so ticks run + ticks missed = deadlines elapsed.
 */
import type { Clock } from './clock.js';
import { InvalidOptionError } from './errors.js';

/** What each tick is told. */
export interface PacedTick {
  /** Deadline of this tick on CLOCK_MONOTONIC (ns): when it was due (now is at or just after it). */
  deadlineNs: bigint;
  /** Ticks run since `start()` (0 for the first). */
  index: number;
  /** Ticks skipped since `start()` because they were overdue by more than a period. */
  missed: number;
  /** Aborted by `stop()`: pass it to anything slow the tick awaits. */
  signal: AbortSignal;
}

export interface PacedLoopOptions {
  /** Ticks per second (> 0). */
  hz: number;
  /** When the first tick is due: `0` ms after `start()` (default) or later (e.g. a sensor's warm-up). */
  firstDelayMs?: number;
  /** Told how many ticks were skipped each time some are (the context's loop reports them as drops). */
  onMissed?: (count: number) => void;
  /** Told when a tick throws or rejects; the loop then ends (the context's loop reports it with `ctx.error`). */
  onError?: (err: unknown) => void;
}

/** Waits shorter than this block the thread in Atomics.wait (a timer is too coarse for them). */
const SHORT_WAIT_NS = 2_000_000n;
/** Yield to the event loop at least this often, so control messages and the watchdog heartbeat run. */
const YIELD_EVERY_NS = 5_000_000n;
const waitCell = new Int32Array(new SharedArrayBuffer(4));
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * A loop that keeps cadence: `start()` begins ticking, `stop()` ends it and resolves once no tick runs.
 * Hand `start`/`stop` straight to the source handle.
 *
 * @example
 * ```ts
 * const loop = ctx.loop({ hz: 200 }, () => ctx.records.write([readAx(), readAy(), readAz()]));
 * return { start: loop.start, stop: loop.stop, close: loop.stop };
 * ```
 */
export class PacedLoop {
  /** Ticks skipped (overdue by more than a period) since the last `start()`. */
  missed = 0;
  /** Ticks run since the last `start()`. */
  ticks = 0;
  private readonly periodNs: bigint;
  private abort: AbortController | null = null;
  private done: Promise<void> | null = null;

  constructor(
    private readonly clock: Pick<Clock, 'now' | 'sleepUntil'>,
    private readonly o: PacedLoopOptions,
    private readonly tick: (t: PacedTick) => unknown,
  ) {
    if (typeof o?.hz !== 'number' || !Number.isFinite(o.hz) || o.hz <= 0 || o.hz > 1e6)
      throw new InvalidOptionError('hz', 'a number of ticks per second above 0 (at most 1000000)', o?.hz);
    if (o.firstDelayMs !== undefined && (typeof o.firstDelayMs !== 'number' || !(o.firstDelayMs >= 0)))
      throw new InvalidOptionError('firstDelayMs', 'a number of milliseconds ≥ 0', o.firstDelayMs);
    if (typeof tick !== 'function') throw new InvalidOptionError('tick', 'a function', tick);
    this.periodNs = BigInt(Math.max(1, Math.round(1e9 / o.hz)));
    this.start = this.start.bind(this);
    this.stop = this.stop.bind(this);
  }

  get running(): boolean {
    return this.abort !== null;
  }

  /** Starts ticking (idempotent). The first tick is due `firstDelayMs` (default 0) from now. */
  start(): void {
    if (this.abort) return;
    const ac = new AbortController();
    this.abort = ac;
    this.missed = 0;
    this.ticks = 0;
    const first = this.clock.now() + BigInt(Math.round((this.o.firstDelayMs ?? 0) * 1e6));
    this.done = this.run(first, ac.signal).catch((err: unknown) => {
      if (this.abort === ac) this.abort = null;
      if (this.o.onError) this.o.onError(err);
      else throw err;
    });
  }

  /** Stops ticking; resolves when the current tick (if any) has returned. Idempotent. */
  async stop(): Promise<void> {
    const ac = this.abort;
    this.abort = null;
    ac?.abort();
    const done = this.done;
    this.done = null;
    await done;
  }

  private async run(first: bigint, signal: AbortSignal): Promise<void> {
    const period = this.periodNs;
    let deadline = first;
    let lastYield = this.clock.now();
    let firstTick = true;
    while (!signal.aborted) {
      const remaining = deadline - this.clock.now();
      if (remaining > SHORT_WAIT_NS) {
        await this.clock.sleepUntil(deadline, signal); // timers: the event loop runs meanwhile
        lastYield = this.clock.now();
      } else if (remaining > 0n) Atomics.wait(waitCell, 0, 0, Number(remaining) / 1e6);
      if (signal.aborted) break;
      const now = this.clock.now();
      // The first tick anchors the grid: waking late for it lost nothing (no earlier tick was due).
      if (firstTick && now > deadline) deadline = now;
      firstTick = false;
      const late = now - deadline;
      if (late >= period) {
        // Deadlines we can no longer meet: skip them and say so, never burst to catch up.
        const n = late / period;
        deadline += n * period;
        this.missed += Number(n);
        this.o.onMissed?.(Number(n));
      }
      const r = this.tick({ deadlineNs: deadline, index: this.ticks, missed: this.missed, signal });
      if (r && typeof (r as Promise<unknown>).then === 'function') await r;
      this.ticks++;
      deadline += period;
      // Short waits block in Atomics.wait and never reach the event loop: yield now and then.
      if (this.clock.now() - lastYield > YIELD_EVERY_NS) {
        await yieldToLoop();
        lastYield = this.clock.now();
      }
    }
  }
}
