import { HEADER_BYTES, I32, I64, ItemFlags, RingState, WriterDropCause, type WriterDropCauseName } from './layout.js';

/** The writer-side loss counters, as numbers. */
export function readWriterDrops(i64: BigInt64Array): Record<WriterDropCauseName, number> {
  const out = {} as Record<WriterDropCauseName, number>;
  for (const [name, idx] of Object.entries(WriterDropCause)) out[name as WriterDropCauseName] = Number(Atomics.load(i64, idx));
  return out;
}

/** Bumps and notifies both wake words: every reader, batching or not, wakes (a state change, a close). */
export function wakeEveryReader(head32: Int32Array): void {
  for (const word of [I32.NOTIFY, I32.BATCH]) {
    Atomics.add(head32, word, 1);
    Atomics.notify(head32, word);
  }
}

/**
 * Commits in a row, each closer to the previous one than the batch gap, before the writer holds BATCH
 * wake-ups back: a stream has to be fast for a while, so two frames that happen to arrive together from a
 * slow camera still wake their reader at once.
 */
const FAST_RUN = 4;

/** What both ring writers share: loss accounting, gap flags, state changes and the reader wake-ups. */
export abstract class RingWriterBase {
  protected readonly head32: Int32Array;
  protected readonly head64: BigInt64Array;
  private pendingFlags = 0;
  /** performance.now() of the last BATCH wake-up and of the last commit, and the current run of fast commits. */
  private lastBatchMs = -Infinity;
  private lastCommitMs = -Infinity;
  private fastRun = 0;
  /** What this writer last stored in BATCH_HOLDING. */
  private mayHold = false;
  /** Inside hold() … flush(): commits wake nobody yet; `owed` says flush() must. */
  private holding = false;
  private owed = false;

  constructor(sab: SharedArrayBuffer) {
    this.head32 = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.head64 = new BigInt64Array(sab, 0, HEADER_BYTES / 8);
    Atomics.store(this.head32, I32.BATCH_HOLDING, 0); // a new writer (a restart) starts outside a fast run
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

  /** Gives back flags taken with {@link takeFlags} that no item carried. */
  protected restoreFlags(flags: number): void {
    this.pendingFlags |= flags;
  }

  /**
   * After a commit: wakes every reader waiting on NOTIFY, and those waiting on BATCH once per batch. While
   * a stream commits faster than the batch gap, a BATCH wake-up less than the gap after the previous one is
   * held back: the next commit wakes for both items (its readers arm a timer of their own for the case the
   * stream stops right there). So a 1 kHz stream with a 1.5 ms gap wakes its batching readers every second
   * commit, each time right after it, and no item waits longer than the gap while the stream goes on.
   */
  protected committed(): void {
    if (this.holding) {
      this.owed = true;
      return;
    }
    Atomics.add(this.head32, I32.NOTIFY, 1);
    Atomics.notify(this.head32, I32.NOTIFY);
    const gapUs = Atomics.load(this.head32, I32.BATCH_GAP_US);
    if (gapUs > 0) {
      const now = performance.now();
      const gapMs = gapUs / 1000;
      this.fastRun = now - this.lastCommitMs < gapMs ? this.fastRun + 1 : 0;
      this.lastCommitMs = now;
      const mayHold = this.fastRun >= FAST_RUN;
      if (mayHold !== this.mayHold) {
        // Entering or leaving a fast run: say so (readers arm their tail timer by it), and wake them now.
        this.mayHold = mayHold;
        Atomics.store(this.head32, I32.BATCH_HOLDING, mayHold ? 1 : 0);
      } else if (mayHold && now - this.lastBatchMs < gapMs) return;
      this.lastBatchMs = now;
    }
    Atomics.add(this.head32, I32.BATCH, 1);
    Atomics.notify(this.head32, I32.BATCH);
  }

  /**
   * Holds reader wake-ups back until {@link flush}: a writer that commits several items in one go (the
   * spectrum's hops of one wake-up) wakes its readers once for all of them, not once per item.
   */
  hold(): void {
    this.holding = true;
  }

  /** Ends a {@link hold}, waking readers once if anything was committed during it. */
  flush(): void {
    this.holding = false;
    if (this.owed) {
      this.owed = false;
      this.committed();
    }
  }

  /** After a state change: wakes every reader, batching or not (never held). */
  protected wake(): void {
    this.fastRun = 0; // a state change ends any fast run
    this.mayHold = false;
    Atomics.store(this.head32, I32.BATCH_HOLDING, 0);
    wakeEveryReader(this.head32);
  }
}
