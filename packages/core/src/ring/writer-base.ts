import { HEADER_BYTES, I32, I64, ItemFlags, RingState, WriterDropCause, type WriterDropCauseName } from './layout.js';

/** The writer-side loss counters, as numbers. */
export function readWriterDrops(i64: BigInt64Array): Record<WriterDropCauseName, number> {
  const out = {} as Record<WriterDropCauseName, number>;
  for (const [name, idx] of Object.entries(WriterDropCause)) out[name as WriterDropCauseName] = Number(Atomics.load(i64, idx));
  return out;
}

/** What both ring writers share: loss accounting, gap flags, state changes and the reader wake-up. */
export abstract class RingWriterBase {
  protected readonly head32: Int32Array;
  protected readonly head64: BigInt64Array;
  private pendingFlags = 0;

  constructor(sab: SharedArrayBuffer) {
    this.head32 = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.head64 = new BigInt64Array(sab, 0, HEADER_BYTES / 8);
  }

  /** Counts items (audio: frames) lost upstream or here. The next committed item is flagged DISCONTINUITY. */
  reportDrop(cause: WriterDropCauseName, count: number): void {
    if (count <= 0) return;
    Atomics.add(this.head64, WriterDropCause[cause], BigInt(Math.round(count)));
    this.markGap();
  }

  /** Marks a discontinuity: the next item is flagged and the ring's gap counter grows (once per gap). */
  markGap(): void {
    if (!(this.pendingFlags & ItemFlags.DISCONTINUITY)) Atomics.add(this.head64, I64.GAPS, 1n);
    this.pendingFlags |= ItemFlags.DISCONTINUITY;
  }

  setState(state: (typeof RingState)[keyof typeof RingState]): void {
    Atomics.store(this.head32, I32.STATE, state);
    this.wake();
  }

  /** Flags owed to the next committed item (then cleared). */
  protected takeFlags(): number {
    const f = this.pendingFlags;
    this.pendingFlags = 0;
    return f;
  }

  /** Wakes every reader waiting on the NOTIFY word. */
  protected wake(): void {
    Atomics.add(this.head32, I32.NOTIFY, 1);
    Atomics.notify(this.head32, I32.NOTIFY);
  }
}
