/**
 * Counts, in items, what a restart lost: the worker's replacement compares the capture time of the first
 * item it writes with the end of the last item its predecessor wrote, at the stream's nominal rate. Audio
 * counts frames (as every audio drop counter does). Runs in the (new) writer's thread, which owns the counters.
 */
import type { StreamSpec } from '../contract/v1/index.js';
import { FrameRingReader } from '../ring/frame-ring.js';
import { HEADER_BYTES, WriterDropCause } from '../ring/layout.js';
import { SampleRingReader } from '../ring/sample-ring.js';

/** Items per second of a stream (audio: frames per second), the unit its drops are counted in. */
export function itemRate(spec: StreamSpec): number {
  return spec.kind === 'video' ? spec.fps : spec.rate;
}

export class RestartLossCounter {
  private readonly rate: number;
  private readonly frames: FrameRingReader | null = null;
  private readonly samples: SampleRingReader | null = null;
  /** Capture time at which the next item was due when the old worker stopped writing (null: it wrote none). */
  private readonly dueNs: bigint | null;
  /** Items (audio: frames) already written when the restart began. */
  private readonly head0: bigint;

  constructor(private readonly sab: SharedArrayBuffer, spec: StreamSpec) {
    this.rate = itemRate(spec);
    const periodNs = (n: number) => BigInt(Math.round((n * 1e9) / this.rate));
    if (spec.kind === 'audio') {
      this.samples = new SampleRingReader(sab); // cursor at the head: the next chunk is the new worker's first
      const last = this.samples.latest();
      this.dueNs = last ? last.captureNs + periodNs(last.frames) : null;
      this.head0 = this.samples.framesWritten();
    } else {
      this.frames = new FrameRingReader(sab);
      const last = this.frames.latest();
      this.dueNs = last ? last.captureNs + periodNs(1) : null;
      this.frames.release();
      this.head0 = this.frames.head();
    }
  }

  /**
   * Null until the new worker's first item is in the ring; then the items lost (≥ 0), already added to the
   * ring's `restart` counter. Items the writer committed before this poll saw them are not loss.
   */
  poll(): number | null {
    let captureNs: bigint;
    let already: bigint;
    if (this.samples) {
      const c = this.samples.next();
      if (!c) return null;
      captureNs = c.captureNs;
      already = c.startFrame - this.head0;
    } else {
      const v = this.frames!.next();
      if (!v) return null;
      captureNs = v.captureNs;
      already = v.seq - this.head0;
      this.frames!.release();
    }
    if (this.dueNs === null) return 0;
    const due = Math.round((Number(captureNs - this.dueNs) * this.rate) / 1e9);
    const lost = Math.max(0, due - Number(already));
    if (lost > 0) Atomics.add(new BigInt64Array(this.sab, 0, HEADER_BYTES / 8), WriterDropCause.restart, BigInt(lost));
    return lost;
  }
}
