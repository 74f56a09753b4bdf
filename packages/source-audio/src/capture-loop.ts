/**
 * The capture loop (worker side): reserve a ring region, let ALSA read straight into it, stamp it, commit —
 * all in native code (`CapturePcm`, through core's native sample-ring writer), period after period, without
 * entering JavaScript: the per-period JavaScript was most of the capture thread's cost above `arecord`'s
 * (docs/performance.md). JavaScript wakes the ring's sleeping readers (Atomics.notify is JavaScript's only)
 * and does the rare work: loss accounting, reconnects, start/stop.
 *
 * - Each read blocks at most READ_TIMEOUT_MS. The loop yields to the event loop (setImmediate) after a
 *   read without data, as soon as a control message (start/stop/close) waits in the worker's mailbox, and
 *   otherwise every YIELD_EVERY_MS (for the watchdog's heartbeat and timers). Not more often: a turn of the
 *   worker's event loop costs tens of µs, and 50 turns a second were a quarter or more of the capture thread's CPU.
 * - An overrun is recovered in native code; its size is measured from the capture times on either side
 *   of the gap and counted with `reportDrop('driver', frames)`. Streaming goes on.
 * - A vanished device is reported (`disconnected`), reopened with the same parameters every
 *   `reconnectMs`, and reported back (`reconnected`); the frames missed are counted as `disconnect` loss.
 */
import { ItemFlags, type Logger, type SampleRingWriter } from '@senseflow/core';
import type { CapturePcm, PcmCaptureResult } from './pcm.js';
import { lostFramesBetween } from './timestamps.js';

/** Longest a single native read may block the worker. */
export const READ_TIMEOUT_MS = 50;
/** Longest the loop reads back to back without letting the worker's event loop run (control messages cut it short). */
export const YIELD_EVERY_MS = 100;
/**
 * A read waits for one period but takes up to this many when they piled up (a late wake-up, or a plugin
 * such as pulse that delivers in fragments larger than the period): one chunk instead of one per period.
 */
export const READ_MAX_PERIODS = 8;

export interface CaptureLoopOptions {
  writer: SampleRingWriter;
  /** The worker's mailbox (`ctx.mailbox`): a native capture call returns as soon as a control message waits. */
  mailbox?: Int32Array;
  log: Logger;
  /** Reopens the device (same parameters) after a disconnect; throws while it is still gone. */
  reopen: () => CapturePcm;
  disconnected: (reason: string, details?: Record<string, unknown>) => void;
  reconnected: (details?: Record<string, unknown>) => void;
  reconnectMs: number;
  /** Test hook: block the thread once for this long after ~100 ms of audio. */
  debugStallMs?: number;
  /** Test hook: native capture calls last up to this long instead of YIELD_EVERY_MS. */
  debugSliceMs?: number;
}

export interface CaptureCounters {
  chunks: number;
  frames: number;
  xruns: number;
  /** Chunks whose capture time came from the receive clock (TIMESTAMP_FALLBACK). */
  fallbackStamps: number;
  disconnects: number;
  reconnects: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class CaptureLoop {
  readonly counters: CaptureCounters = { chunks: 0, frames: 0, xruns: 0, fallbackStamps: 0, disconnects: 0, reconnects: 0 };
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private readonly mem: Uint8Array;
  private prevCaptureNs: bigint | null = null;
  private prevFrames = 0;
  private pendingLoss: 'driver' | 'disconnect' | null = null;
  private stallDone = false;
  private wake: (() => void) | null = null;

  constructor(
    private pcm: CapturePcm | null,
    private readonly o: CaptureLoopOptions,
  ) {
    this.mem = new Uint8Array(o.writer.sab);
  }

  get device(): CapturePcm | null {
    return this.pcm;
  }

  start(): void {
    if (this.running) return;
    this.pcm?.start();
    this.running = true;
    this.prevCaptureNs = null; // a restart is not a loss
    this.done = this.run().catch((e) => this.o.log.error({ err: e }, 'capture loop failed'));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.done;
    this.pcm?.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    this.pcm?.close();
    this.pcm = null;
  }

  private async run(): Promise<void> {
    // Not inside start(): its caller (the worker answering a start request) must not wait for a first slice.
    await yieldToEventLoop();
    while (this.running) {
      if (!this.pcm) {
        await this.reconnect();
        continue;
      }
      this.readFor(this.o.debugSliceMs || YIELD_EVERY_MS);
      await yieldToEventLoop();
    }
  }

  /**
   * Captures for up to `forMs` in native code (`CapturePcm`: read, stamp and commit each period without
   * entering JavaScript), returning early when a read brings no data. JavaScript runs between those native
   * calls only to wake readers that sleep on the ring, and to count a loss before the chunk after it.
   */
  private readFor(forMs: number): void {
    const pcm = this.pcm!;
    const w = this.o.writer;
    const maxFrames = Math.min(READ_MAX_PERIODS * pcm.info.periodFrames, w.capacityFrames);
    const deadlineMs = Number(process.hrtime.bigint()) / 1e6 + forMs;
    for (;;) {
      const flags = w.nativeBegin();
      const c = pcm.capture(this.mem, this.o.mailbox, maxFrames, READ_TIMEOUT_MS, deadlineMs, this.pendingLoss === null, flags);
      w.nativeDone(c.chunks, c.flagsLeft); // wakes the ring's readers when it committed
      this.counters.chunks += c.chunks;
      this.counters.frames += c.frames;
      this.counters.fallbackStamps += c.fallbacks;
      if (c.chunks > 0) {
        this.prevCaptureNs = c.captureNs;
        this.prevFrames = c.lastFrames;
      }
      this.maybeStall(w.rate);
      if (c.kind === 'held') this.commitAfterLoss(c);
      else if (c.kind === 'done') return;
      else if (c.kind !== 'wake') {
        this.noData(pcm, c);
        return;
      }
    }
  }

  /** The first chunk after an overrun or a reconnect: count what was lost before it, then commit it where it was read. */
  private commitAfterLoss(c: PcmCaptureResult): void {
    const w = this.o.writer;
    this.settleLoss(c.captureNs);
    const r = w.reserve(c.lastFrames); // the same region the native read filled: nothing was committed since
    w.commit(Math.min(r.frames, c.lastFrames), c.captureNs, c.nowNs, c.fallbacks > 0 ? ItemFlags.TIMESTAMP_FALLBACK : 0);
    this.counters.chunks++;
    this.counters.frames += c.lastFrames;
    this.prevCaptureNs = c.captureNs;
    this.prevFrames = c.lastFrames;
  }

  /** A call that ended without data: a timeout, or an overrun (recovered) or a vanished device to account for. */
  private noData(pcm: CapturePcm, r: PcmCaptureResult): void {
    if (r.kind === 'xrun') {
      this.counters.xruns++;
      this.pendingLoss ??= 'driver';
      this.o.log.warn({ errno: r.errno }, 'ALSA overrun: restarted capture, counting the lost frames');
    } else if (r.kind === 'disconnected') {
      this.counters.disconnects++;
      this.pendingLoss = 'disconnect';
      const device = pcm.params.device;
      pcm.close();
      this.pcm = null;
      this.o.disconnected(`ALSA device '${device}' went away (${r.errno})`, { device, errno: r.errno });
    }
  }

  /** Counts the frames missing between the last chunk before a gap and the first one after it. */
  private settleLoss(nextCaptureNs: bigint): void {
    const cause = this.pendingLoss!;
    this.pendingLoss = null;
    const lost = this.prevCaptureNs === null ? 0 : lostFramesBetween(this.prevCaptureNs, this.prevFrames, nextCaptureNs, this.o.writer.rate);
    if (lost > 0) this.o.writer.reportDrop(cause, lost);
    else this.o.writer.markGap();
    this.o.log.info({ cause, lostFrames: lost }, 'gap in the capture');
  }

  private async reconnect(): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.o.reconnectMs);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = null;
    if (!this.running) return;
    try {
      const pcm = this.o.reopen();
      pcm.start();
      this.pcm = pcm;
      this.counters.reconnects++;
      this.o.reconnected({ device: pcm.params.device });
    } catch (e) {
      this.o.log.debug({ err: e }, 'device still gone');
    }
  }

  private maybeStall(rate: number): void {
    const ms = this.o.debugStallMs ?? 0;
    if (!ms || this.stallDone || this.counters.frames < rate / 10) return;
    this.stallDone = true;
    this.o.log.warn({ ms }, 'debugStallMs: blocking the capture thread');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }
}
