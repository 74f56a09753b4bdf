import { PacedLoop, type Clock, type FrameRingWriter } from '@senseflow/core';
import type { SysStatsSampler } from './sampler.js';

/**
 * Runs a sampler on core's paced loop: absolute deadlines (no drift), the first one when priming is over.
 * A record whose deadline passed more than a period ago is skipped and counted as a `driver` drop (so
 * committed + dropped = deadlines elapsed). Capture time = `clock.now()` right after the record's reads.
 */
export class Pacer {
  private readonly loop: PacedLoop;
  /** Float64 views over every slot's data, made once (slot.data is reused by the writer). */
  private readonly views = new Map<number, Float64Array>();
  private readonly scratch: Float64Array;

  constructor(
    private readonly sampler: SysStatsSampler,
    private readonly writer: FrameRingWriter,
    clock: Clock,
    hz: number,
    onError: (err: unknown) => void,
  ) {
    this.scratch = new Float64Array(sampler.fields.length);
    const bytes = sampler.fields.length * 8;
    this.loop = new PacedLoop(
      clock,
      { hz, firstDelayMs: sampler.primeMs, onMissed: (n) => writer.reportDrop('driver', n), onError },
      () => {
        const slot = this.writer.begin();
        // Ring full (readers hold every slot): the writer counted the drop; still read, to keep rate windows fresh.
        this.sampler.sample(slot ? this.view(slot) : this.scratch);
        if (slot) this.writer.commit(slot, bytes, clock.now());
      },
    );
  }

  start(): void {
    if (this.loop.running) return;
    this.sampler.prime();
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private view(slot: { index: number; data: Uint8Array }): Float64Array {
    let v = this.views.get(slot.index);
    if (!v) {
      v = new Float64Array(slot.data.buffer, slot.data.byteOffset, this.sampler.fields.length);
      this.views.set(slot.index, v);
    }
    return v;
  }
}
