/**
 * The capture loop (worker side): reserve a ring region, let ALSA read straight into it, stamp it, commit.
 *
 * - Each read blocks at most READ_TIMEOUT_MS. The loop yields to the event loop (setImmediate) after a
 *   read without data and otherwise at least every YIELD_EVERY_MS, so the worker keeps serving
 *   start/stop/close while capturing — not after every period: a turn of the event loop per 64-frame
 *   period was a large share of the capture CPU (bench/audio-read.bench.mjs).
 * - An overrun is recovered in native code; its size is measured from the capture times on either side
 *   of the gap and counted with `reportDrop('driver', frames)`. Streaming goes on.
 * - A vanished device is reported (`disconnected`), reopened with the same parameters every
 *   `reconnectMs`, and reported back (`reconnected`); the frames missed are counted as `disconnect` loss.
 */
import { ItemFlags, type Logger, type SampleRingWriter } from '@senseflow/core';
import type { CapturePcm, PcmReadResult } from './pcm.js';
import { chunkCaptureTime, framesToNs, lostFramesBetween } from './timestamps.js';

/** Longest a single native read may block the worker. */
export const READ_TIMEOUT_MS = 50;
/** Longest the loop reads back to back without letting the worker's event loop run. */
export const YIELD_EVERY_MS = 20;
const YIELD_EVERY_NS = BigInt(YIELD_EVERY_MS) * 1_000_000n;
/**
 * A read waits for one period but takes up to this many when they piled up (a late wake-up, or a plugin
 * such as pulse that delivers in fragments larger than the period): one chunk instead of one per period.
 */
export const READ_MAX_PERIODS = 8;

export interface CaptureLoopOptions {
  writer: SampleRingWriter;
  log: Logger;
  /** Reopens the device (same parameters) after a disconnect; throws while it is still gone. */
  reopen: () => CapturePcm;
  disconnected: (reason: string, details?: Record<string, unknown>) => void;
  reconnected: (details?: Record<string, unknown>) => void;
  reconnectMs: number;
  /** Test hook: block the thread once for this long after ~100 ms of audio. */
  debugStallMs?: number;
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
    while (this.running) {
      if (!this.pcm) {
        await this.reconnect();
        continue;
      }
      this.readFor(YIELD_EVERY_NS);
      await yieldToEventLoop();
    }
  }

  /**
   * Reads and commits back to back until `forNs` have passed since the first read's data (on the reads' own
   * CLOCK_MONOTONIC stamps) or a read brings no data. A plain function, not the async loop: V8 resumes an async
   * function after an await in unoptimized code, so the per-period path stays here, optimized.
   */
  private readFor(forNs: bigint): void {
    const pcm = this.pcm!;
    const w = this.o.writer;
    const rate = w.rate;
    // Stamps further from "now" than two device buffers (+1 s) are not believed.
    const maxLagNs = framesToNs(2 * pcm.info.bufferFrames, rate) + 1_000_000_000n;
    const period = pcm.info.periodFrames;
    const maxFrames = Math.min(READ_MAX_PERIODS * period, w.capacityFrames);
    let untilNs = -1n;
    for (;;) {
      const res = w.reserve(maxFrames);
      const r = pcm.read(this.mem, res.byteOffset, Math.min(period, res.frames), READ_TIMEOUT_MS, res.frames);
      if (r.kind !== 'data') {
        w.commit(0, 0n); // release the reservation
        this.noData(pcm, r);
        this.maybeStall(rate);
        return;
      }
      const t = chunkCaptureTime(r.stamp, r.frames, rate, maxLagNs);
      if (this.pendingLoss) this.settleLoss(t.captureNs);
      if (t.fallback) this.counters.fallbackStamps++;
      w.commit(r.frames, t.captureNs, r.stamp.nowNs, t.fallback ? ItemFlags.TIMESTAMP_FALLBACK : 0);
      this.prevCaptureNs = t.captureNs;
      this.prevFrames = r.frames;
      this.counters.chunks++;
      this.counters.frames += r.frames;
      this.maybeStall(rate);
      if (untilNs < 0n) untilNs = r.stamp.nowNs + forNs;
      else if (r.stamp.nowNs >= untilNs) return;
    }
  }

  /** A read that brought no data: a timeout, or an overrun (recovered) or a vanished device to account for. */
  private noData(pcm: CapturePcm, r: PcmReadResult): void {
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
