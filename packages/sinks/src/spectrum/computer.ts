/**
 * The spectrum loop body: reads a sample ring in place and publishes one spectrum frame per hop into a
 * frame ring. Runs in whichever thread calls {@link SpectrumComputer.step} — the pool worker normally; a
 * user's own worker or a test just as well. Never waits: it computes what is ready and returns.
 */
import { FrameRingWriter, ItemFlags, RingConsumer, SampleRingViews, consumeSamples, ringClosed, type SampleChunkView, type WritableSlot } from '@senseflow/core';
import type { FftEngine, RingJob } from '../fft/engine.js';
import { makeWindow } from '../fft/window.js';
import { amplitudeGains, firstHop, oldestValidHop, readyHopEnd } from './frame-math.js';
import { CONTROL_BYTES, Ctl32, Ctl64, EngineCode, PAYLOAD_HEADER_BYTES, PayloadI64, ScaleCode } from './layout.js';
import type { ResolvedSpectrumOptions } from './options.js';

/** Bytes of one frame-ring slot for these options. */
export function spectrumSlotBytes(o: Pick<ResolvedSpectrumOptions, 'size' | 'channels'>): number {
  return PAYLOAD_HEADER_BYTES + o.channels.length * (o.size / 2 + 1) * 4;
}

export function createControlBlock(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES);
}

export class SpectrumComputer {
  private readonly v: SampleRingViews;
  private readonly writer: FrameRingWriter;
  /**
   * The source's chunks through core's consumer: its wake-ups drive the loop (batched by `coalesceMs`), its
   * chunks tell where the source lost samples (flagged DISCONTINUITY). Hops are read in place by frame index.
   */
  readonly input: RingConsumer<SampleChunkView>;
  private readonly gapFrames: bigint[] = [];
  /** window → FFT → magnitude of one hop straight out of the source's ring, checked once at construction. */
  private readonly job: RingJob;
  private readonly ctl64: BigInt64Array;
  /** Typed views over each output slot, by slot index (made on first use). */
  private readonly slotViews: ({ head: BigInt64Array; mags: Float32Array } | undefined)[] = [];
  private readonly bytes: number;
  private nextHop: bigint;

  constructor(
    ring: SharedArrayBuffer,
    out: SharedArrayBuffer,
    control: SharedArrayBuffer,
    private readonly o: ResolvedSpectrumOptions,
    engine: FftEngine,
    signal?: AbortSignal,
  ) {
    this.v = new SampleRingViews(ring);
    this.writer = new FrameRingWriter(out, { width: o.size / 2 + 1, height: o.channels.length, stride: o.size, format: ScaleCode[o.scale] });
    this.input = consumeSamples(ring, { from: 'oldest', signal, maxDelayMs: o.coalesceMs });
    const window = o.window === 'rect' ? null : makeWindow(o.window, o.size);
    const gains = amplitudeGains(window ?? makeWindow('rect', o.size), this.v.format);
    this.job = engine.plan(o.size).ringJob(
      { samples: this.v.samples, capacityFrames: this.v.g.capacityFrames, channels: this.v.channels, chans: Int32Array.from(o.channels), hop: o.hop },
      { window, kind: o.scale === 'db' ? 'db' : 'amplitude', gain: gains.gain, edgeGain: gains.edgeGain, floorDb: o.floorDb },
    );
    this.bytes = spectrumSlotBytes(o);
    this.ctl64 = new BigInt64Array(control, 0, CONTROL_BYTES / 8);
    const ctl32 = new Int32Array(control, 0, 8);
    Atomics.store(ctl32, Ctl32.ENGINE, EngineCode[engine.name]);
    this.nextHop = firstHop(o.from, this.v.framesWritten(), this.v.validFrom(), o.hop);
    Atomics.store(this.ctl64, Ctl64.NEXT_HOP, this.nextHop);
  }

  /** The frame-ring writer (to mark state at the end). */
  get output(): FrameRingWriter {
    return this.writer;
  }

  /** Frames the source has written so far. */
  framesWritten(): bigint {
    return this.v.framesWritten();
  }

  /** Whether the source's ring is closed (its writer is done). */
  sourceClosed(): boolean {
    return ringClosed(this.v.sab);
  }

  /**
   * Milliseconds from now until the next hop is due: when its last sample should be in at the source's
   * nominal rate, plus `coalesceMs` (so every hop whose samples arrive within that window is computed in
   * the same wake-up). Null with `coalesceMs: 0` (each hop as soon as its last sample is in: wait for the
   * source's commits instead).
   */
  msUntilDue(): number | null {
    const { o } = this;
    if (o.coalesceMs === 0) return null;
    const missing = this.nextHop * BigInt(o.hop) + BigInt(o.size) - this.v.framesWritten();
    return (missing > 0n ? (Number(missing) * 1000) / o.rate : 0) + o.coalesceMs;
  }

  /**
   * Computes and publishes every hop whose samples are all written, waking the output's readers once at the
   * end. Returns the number of frames published.
   */
  step(): number {
    this.writer.hold();
    try {
      return this.publishReady();
    } finally {
      this.writer.flush();
    }
  }

  private publishReady(): number {
    const { o, v } = this;
    const hop = BigInt(o.hop);
    const cap = BigInt(v.g.capacityFrames);
    this.scanGaps();
    const end = readyHopEnd(v.framesWritten(), o.size, o.hop);
    let published = 0;
    while (this.nextHop < end) {
      const start = this.nextHop * hop;
      const oldest = oldestValidHop(v.validFrom(), o.hop);
      if (this.nextHop < oldest) {
        // The source lapped us: those hops' samples are gone. Count them, flag the next frame.
        this.lose(oldest - this.nextHop);
        this.nextHop = oldest;
        continue;
      }
      const slot = this.writer.begin(); // null = every slot held by readers: counted by the writer as ringFull
      if (!slot) {
        this.lose(1n, false);
        this.nextHop++;
        continue;
      }
      const views = this.viewsOf(slot);
      this.job.run(Number(start % cap), 1, views.mags);
      // Looked up before the check (as SampleRingReader.read): the records of verified samples are intact.
      let captureNs = v.captureNsOf(start);
      if (start < v.validFrom()) {
        // Overwritten while we read it (seqlock-style check after the read): discard, never publish torn data.
        this.writer.abort(slot);
        this.lose(1n);
        this.nextHop++;
        continue;
      }
      views.head[PayloadI64.SEQ] = this.nextHop;
      views.head[PayloadI64.START_FRAME] = start;
      if (captureNs === null) {
        captureNs = this.extrapolate(start);
        slot.flags |= ItemFlags.TIMESTAMP_FALLBACK;
      }
      if (this.gapIn(start, start + BigInt(o.size))) slot.flags |= ItemFlags.DISCONTINUITY;
      Atomics.add(this.ctl64, Ctl64.COMPUTED, 1n); // before the commit: stats never lag the frames readers see
      this.writer.commit(slot, this.bytes, captureNs);
      this.nextHop++;
      published++;
    }
    Atomics.store(this.ctl64, Ctl64.NEXT_HOP, this.nextHop);
    return published;
  }

  private lose(hops: bigint, gap = true): void {
    Atomics.add(this.ctl64, Ctl64.LOST, hops);
    if (gap) this.writer.markGap();
  }

  private viewsOf(slot: WritableSlot): { head: BigInt64Array; mags: Float32Array } {
    let s = this.slotViews[slot.index];
    if (!s) {
      const d = slot.data;
      s = {
        head: new BigInt64Array(d.buffer, d.byteOffset, 2),
        mags: new Float32Array(d.buffer, d.byteOffset + PAYLOAD_HEADER_BYTES, this.o.channels.length * (this.o.size / 2 + 1)),
      };
      this.slotViews[slot.index] = s;
    }
    return s;
  }

  /** Records where the source lost samples (start frames of chunks flagged DISCONTINUITY). */
  private scanGaps(): void {
    for (let c = this.input.take(); c; c = this.input.take()) {
      if (c.flags & ItemFlags.DISCONTINUITY) this.gapFrames.push(c.startFrame);
    }
    const keepFrom = this.nextHop * BigInt(this.o.hop);
    while (this.gapFrames.length && this.gapFrames[0] < keepFrom) this.gapFrames.shift();
  }

  /** True when the source lost samples right before `start` or inside [start, end). */
  private gapIn(start: bigint, end: bigint): boolean {
    for (const g of this.gapFrames) if (g >= start && g < end && g > 0n) return true;
    return false;
  }

  /** Capture time from the newest chunk, when the chunk holding `frame` is no longer recorded. */
  private extrapolate(frame: bigint): bigint {
    const last = this.v.framesWritten() - 1n;
    const t = this.v.captureNsOf(last);
    if (t === null) return 0n;
    return t - ((last - frame) * 1_000_000_000n) / BigInt(this.v.rate);
  }
}
