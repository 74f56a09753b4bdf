import type { Clock, FrameRingWriter } from '@senseflow/core';
import type { SysStatsSampler } from './sampler.js';

/** Waits shorter than this block in Atomics.wait directly (as sleepUntil's last step does) without a promise. */
const SHORT_WAIT_NS = 2_000_000n;
const waitCell = new Int32Array(new SharedArrayBuffer(4));

/** Yield to the event loop at least this often, so the worker serves stop/close promptly. */
const YIELD_EVERY_NS = 5_000_000n;
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Runs a sampler on absolute deadlines (no drift): record k is due at `t0 + k·period`, where t0 is the capture
 * time of the first record (taken once priming is over).
 * A record that cannot be taken because its deadline passed more than a period ago is counted as a
 * `driver` drop (so committed + dropped = deadlines elapsed, exactly). Capture time = `clock.now()` right
 * after the record's reads.
 */
export class Pacer {
  private running = false;
  private loop: Promise<void> | null = null;
  private abort: AbortController | null = null;
  /** Float64 views over every slot's data, made once (slot.data is reused by the writer). */
  private readonly views = new Map<number, Float64Array>();
  private readonly scratch: Float64Array;

  constructor(
    private readonly sampler: SysStatsSampler,
    private readonly writer: FrameRingWriter,
    private readonly clock: Clock,
    private readonly hz: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.scratch = new Float64Array(sampler.fields.length);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.sampler.prime();
    const first = this.clock.now() + BigInt(Math.round(this.sampler.primeMs * 1e6));
    this.loop = this.run(first, this.abort.signal).catch((err) => {
      this.running = false;
      this.onError(err);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    await this.loop;
    this.loop = null;
  }

  private view(slot: { index: number; data: Uint8Array }): Float64Array {
    let v = this.views.get(slot.index);
    if (!v) {
      v = new Float64Array(slot.data.buffer, slot.data.byteOffset, this.sampler.fields.length);
      this.views.set(slot.index, v);
    }
    return v;
  }

  private async run(first: bigint, signal: AbortSignal): Promise<void> {
    const period = BigInt(Math.round(1e9 / this.hz));
    const bytes = this.sampler.fields.length * 8;
    let deadline = first;
    let isFirst = true;
    let lastYield = this.clock.now();
    while (this.running) {
      const remaining = deadline - this.clock.now();
      // sleepUntil ends its timer wait on abort (stop() at 0.1 Hz is prompt). Never Promise.race against a
      // long-lived promise here: each race leaves a reaction on it until it settles (a leak per record).
      if (remaining > SHORT_WAIT_NS) await this.clock.sleepUntil(deadline, signal);
      // At high rates every wait is short: block this (the source's own) thread briefly, allocation-free.
      else if (remaining > 0n) Atomics.wait(waitCell, 0, 0, Number(remaining) / 1e6);
      if (!this.running) break;
      const slot = this.writer.begin();
      // Ring full (readers hold every slot): the writer counted the drop; still read, to keep rate windows fresh.
      this.sampler.sample(slot ? this.view(slot) : this.scratch);
      const captureNs = this.clock.now();
      if (slot) this.writer.commit(slot, bytes, captureNs);
      // The first record anchors the schedule: waking late from priming is not a loss (no record was due yet).
      deadline = isFirst ? captureNs + period : deadline + period;
      isFirst = false;
      const late = captureNs - deadline;
      if (late > period) {
        // Deadlines we can no longer meet: skip them and say so.
        const missed = late / period;
        this.writer.reportDrop('driver', Number(missed));
        deadline += missed * period;
      }
      // Short sleeps block in Atomics.wait and never reach the event loop: yield now and then.
      if (captureNs - lastYield > YIELD_EVERY_NS) {
        await yieldToLoop();
        lastYield = this.clock.now();
      }
    }
  }
}
