/**
 * The one way senseflow consumes a ring's items. The Source pump, the file sinks, the spectrum worker, the
 * NATS publisher and the network feed all read through a {@link RingConsumer}; nothing outside `ring/`
 * touches the layout's indices.
 *
 * What it owns, once:
 * - **Tear checks.** A frame-ring item is held under a read lease until the next `take()` (the writer
 *   skips leased slots); a sample-ring chunk is a view checked by `valid()`, and {@link RingConsumer.copy}
 *   verifies a copy after copying. Torn data is never delivered as data.
 * - **Loss accounting per cause.** `drops()` = the writer's causes (`driver`, `ringFull`, `disconnect`,
 *   `restart`, `network`) + `overwritten`: items (audio: frames) this consumer was lapped on, or whose copy
 *   the writer tore.
 * - **Ending.** `wait()` returns false (and iteration ends) once the ring is closed and every item committed
 *   before the close was taken, or at once when the AbortSignal fires or `close()` is called.
 * - **Batched wake-ups.** With `maxDelayMs` from the ring's batch gap (1.5 ms) to twice it, the consumer
 *   waits on the ring's BATCH word: the writer wakes it right after a commit, but while the stream is fast
 *   no sooner than the gap after the previous wake-up (a 1 kHz stream: every second commit, the older item
 *   ~1 ms old). A slower stream wakes on each commit, at once. Other delays poll on a timer every
 *   `maxDelayMs` while the stream is fast (a recorder's 20 ms), or wake on each commit (`maxDelayMs: 0`).
 *   The added delivery latency is bounded by `maxDelayMs` while the stream goes on; the last item before a
 *   fast stream pauses (no commit, no state change) comes within {@link TAIL_MS}.
 *
 * Works in any thread that has the ring's SharedArrayBuffer.
 */
import { InvalidOptionError, InvalidStateError } from '../errors.js';
import { FrameRingReader, type FrameView } from './frame-ring.js';
import { DEFAULT_BATCH_GAP_US, HEADER_BYTES, I32, RingKind, RingState, type DropCause } from './layout.js';
import { SampleRingReader, type SampleArray, type SampleChunkView } from './sample-ring.js';
import { wakeEveryReader } from './writer-base.js';

export type RingItem = FrameView | SampleChunkView;

export interface RingConsumerOptions {
  /** Ends the consumer: `wait()` returns false, iteration ends. `take()` still drains what is left. */
  signal?: AbortSignal;
  /** Start after the items committed so far (`now`, default) or at the oldest the ring still holds. */
  from?: 'now' | 'oldest';
  /**
   * Longest delay (ms) a wake-up may be held back so that several items are delivered at once. Default 1.5
   * (a 1 kHz stream: one wake-up per two items, each delivered within ~1 ms of its commit). 0 wakes for
   * every commit.
   */
  maxDelayMs?: number;
  /** Most items the async iterator yields per wake-up before the event loop gets a turn (default 256). */
  maxBatch?: number;
  /**
   * Longest time (ms) a batch may run, from its wake-up, before the event loop gets a turn (default 10): a
   * consumer slower than its stream would otherwise never run out of items and hold the thread.
   */
  maxBatchMs?: number;
  /** `wait()` also returns true after this many ms without items (for periodic work). Default: never. */
  idleMs?: number;
}

export const DEFAULT_MAX_DELAY_MS = DEFAULT_BATCH_GAP_US / 1000;
/**
 * While the writer says it may hold BATCH wake-ups back (BATCH_HOLDING), a timer re-armed at every wait
 * delivers a held item should the stream pause right there (once: a paused stream wakes the reader once). Node re-arms a refreshed timer only when it comes due, so
 * it costs one wake-up per TAIL_MS while the stream is fast (a shorter one would add a wake-up per batch).
 */
export const TAIL_MS = 20;
const DEFAULT_MAX_BATCH = 256;
const DEFAULT_MAX_BATCH_MS = 10;

const immediate = () => new Promise<void>((r) => setImmediate(r));

/** Closes a ring from outside its writer (its worker is gone): consumers end after taking what is left. */
export function markRingClosed(sab: SharedArrayBuffer): void {
  const i32 = headerOf(sab);
  Atomics.store(i32, I32.STATE, RingState.closed);
  wakeEveryReader(i32);
}


/** Whether the ring's state is `closed`. */
export function ringClosed(sab: SharedArrayBuffer): boolean {
  return Atomics.load(headerOf(sab), I32.STATE) === RingState.closed;
}

function headerOf(sab: SharedArrayBuffer): Int32Array {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < HEADER_BYTES) throw new InvalidOptionError('sab', 'a senseflow ring SharedArrayBuffer', sab);
  return new Int32Array(sab, 0, HEADER_BYTES / 4);
}

/**
 * A cursor over one ring with batched wake-ups. Use it as an async iterator of items, or drive it with
 * `wait()` (one per batch) and `take()` (one per item) when you want to act once per batch.
 *
 * Views returned by `take()` (and yielded by iteration) are zero-copy; a frame-ring view stays valid until
 * the next `take()`, `release()` or `close()`; a sample chunk while its `valid()` is true. Keep data with
 * {@link RingConsumer.copy}.
 *
 * @example
 * ```ts
 * // in any worker, with just the SharedArrayBuffer:
 * const consumer = new RingConsumer(workerData.ring, { signal });
 * for await (const item of consumer) store(item);          // ends when the ring closes or signal aborts
 * // or once per batch:
 * while (await consumer.wait()) { for (let it = consumer.take(); it; it = consumer.take()) store(it); flush(); }
 * ```
 */
export class RingConsumer<T extends RingItem = RingItem> implements AsyncIterable<T> {
  readonly kind: 'frame' | 'sample';
  private readonly reader: FrameRingReader | SampleRingReader;
  private readonly i32: Int32Array;
  private readonly maxDelayMs: number;
  /** Items per batch for loops that bound their batches (see `more()`); `take()` itself does not. */
  readonly maxBatch: number;
  private readonly maxBatchMs: number;
  /** performance.now() by which the current batch should end. */
  private batchEnd = 0;
  private readonly idleMs: number;
  private readonly signal: AbortSignal | undefined;
  private onAbort: (() => void) | null = null;
  private ended = false;
  /** performance.now() of the last two wake-ups that found items (to tell a fast stream from a slow one). */
  private lastItemsAt = -Infinity;
  private gapMs = Infinity;
  /** The header word this consumer sleeps on: BATCH (writer-paced batches) or NOTIFY (every commit). */
  private readonly word: number;
  /** One timer, re-armed (refresh) per wait while the stream is fast (see TAIL_MS). */
  private tail: NodeJS.Timeout | null = null;
  /** The tail fired since items last came: not again until they do (a paused stream wakes us once). */
  private tailSpent = false;
  private readonly tailWake = () => {
    this.tailSpent = true;
    Atomics.notify(this.i32, I32.BATCH); // other batching readers of this ring see a spurious wake and re-check
  };
  private torn = 0;
  private sleeping: { timer: NodeJS.Timeout; done: () => void } | null = null;
  /**
   * A pending Atomics.waitAsync does not keep a thread's event loop alive: this timer (never firing) is
   * ref'd while we wait, so a worker that only consumes a ring stays up until the ring closes.
   */
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(sab: SharedArrayBuffer, opts: RingConsumerOptions = {}) {
    const i32 = headerOf(sab);
    this.i32 = i32;
    if (opts.from !== undefined && opts.from !== 'now' && opts.from !== 'oldest') throw new InvalidOptionError('from', "'now' or 'oldest'", opts.from);
    this.maxDelayMs = nonNegative('maxDelayMs', opts.maxDelayMs, DEFAULT_MAX_DELAY_MS);
    this.maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new InvalidOptionError('maxBatch', 'a positive integer', opts.maxBatch);
    this.maxBatchMs = nonNegative('maxBatchMs', opts.maxBatchMs, DEFAULT_MAX_BATCH_MS);
    this.idleMs = opts.idleMs === undefined ? Infinity : nonNegative('idleMs', opts.idleMs, Infinity);
    // The writer's batches suit delays from its gap to twice it; a longer delay batches more on its own timer.
    const gapUs = i32[I32.BATCH_GAP_US];
    const us = this.maxDelayMs * 1000;
    this.word = gapUs > 0 && us >= gapUs && us < 2 * gapUs ? I32.BATCH : I32.NOTIFY;
    const kind = i32[I32.KIND];
    this.kind = kind === RingKind.sample ? 'sample' : 'frame';
    this.reader = kind === RingKind.sample ? new SampleRingReader(sab, { from: opts.from }) : new FrameRingReader(sab, { from: opts.from });
    this.signal = opts.signal;
    if (opts.signal) {
      if (opts.signal.aborted) this.ended = true;
      else {
        this.onAbort = () => this.end();
        opts.signal.addEventListener('abort', this.onAbort, { once: true });
      }
    }
  }

  /** The ring this consumer reads. */
  get sab(): SharedArrayBuffer {
    return this.reader.sab;
  }

  /** The seq (frame ring: item; sample ring: chunk) this consumer takes next. */
  get position(): bigint {
    return this.reader.position;
  }

  /** Items committed and not yet taken (some may turn out overwritten). */
  pending(): number {
    return this.reader.pending();
  }

  /** The underlying reader, for ring-kind specifics (`framesWritten()`, `captureNsOf()`, `head()`…). */
  get ring(): FrameRingReader | SampleRingReader {
    return this.reader;
  }

  /** True once the consumer was closed or its signal aborted (the ring itself may still be open). */
  get aborted(): boolean {
    return this.ended;
  }

  /**
   * The next item, or null when none is committed yet. Skips (and counts) items the writer lapped. Releases
   * the previous frame-ring item. Usable after the end too, to drain what the ring still holds.
   */
  take(): T | null {
    return this.reader.next() as T | null;
  }

  /**
   * Waits for the next batch: resolves true when items are ready (held back at most `maxDelayMs` to batch
   * them) or `idleMs` passed, false when the consumer ended (closed ring drained, signal aborted, close()).
   */
  async wait(): Promise<boolean> {
    for (let first = true; ; first = false) {
      if (this.ended) return false;
      const seen = Atomics.load(this.i32, this.word);
      const pending = this.pending();
      if (pending > 0) {
        // Items left from before this call (a backlog, or a batch cut short): give the event loop a turn
        // first, so a loop that never really waits cannot starve timers and I/O.
        if (first) await immediate();
        if (this.ended) return false;
        const now = performance.now();
        this.gapMs = now - this.lastItemsAt;
        this.lastItemsAt = now;
        this.batchEnd = now + this.maxBatchMs;
        this.tailSpent = false;
        return true;
      }
      if (Atomics.load(this.i32, I32.STATE) === RingState.closed) {
        this.dropKeepAlive();
        return false;
      }
      const now = performance.now();
      if (this.word === I32.NOTIFY && this.maxDelayMs > 0 && this.gapMs <= 2 * this.maxDelayMs && now - this.lastItemsAt < 2 * this.maxDelayMs) {
        // A fast stream and a long delay: poll once per maxDelayMs instead of waking for each commit.
        await this.sleep(this.maxDelayMs);
        if (this.pending() === 0) this.gapMs = Infinity; // it slowed down: wait for the notify next time
        continue;
      }
      // Sleep until the writer commits (NOTIFY) or ends a batch (BATCH), or changes state; close()/abort
      // wakes us too.
      // Say we sleep before the last look (I32.WAITERS): a native writer wakes us only when it sees this.
      Atomics.add(this.i32, I32.WAITERS, 1);
      if (this.pending() > 0) {
        Atomics.sub(this.i32, I32.WAITERS, 1);
        continue;
      }
      const w = Atomics.waitAsync(this.i32, this.word, seen, this.idleMs);
      if (!w.async) {
        Atomics.sub(this.i32, I32.WAITERS, 1);
        continue;
      }
      (this.keepAlive ??= setInterval(() => {}, 2 ** 31 - 1)).ref();
      // While the writer says it may hold BATCH back (a fast run; it says so on a commit that wakes us), the
      // tail timer delivers a held item should the stream pause right after it.
      if (this.word === I32.BATCH && !this.tailSpent && Atomics.load(this.i32, I32.BATCH_HOLDING) === 1) {
        if (this.tail) this.tail.refresh();
        else this.tail = setTimeout(this.tailWake, TAIL_MS).unref();
      } else this.dropTail();
      const r = await w.value;
      Atomics.sub(this.i32, I32.WAITERS, 1);
      this.keepAlive?.unref();
      if (r === 'timed-out' && !this.ended && this.pending() === 0) return true;
    }
  }

  /**
   * A copy of the item's payload that is verified after copying: bytes (frame ring) or samples (sample
   * ring) that are the item's own, or null when the writer overwrote them during the copy (counted under
   * `overwritten`). Pass `into` to reuse a buffer (it must be large enough).
   */
  copy(item: T, into?: Uint8Array | SampleArray): (T extends FrameView ? Uint8Array : SampleArray) | null {
    type Out = (T extends FrameView ? Uint8Array : SampleArray) | null;
    if (this.reader instanceof FrameRingReader) {
      const v = item as FrameView;
      const out = into ? (into as Uint8Array).subarray(0, v.byteLength) : new Uint8Array(v.byteLength);
      out.set(v.data);
      if (this.reader.intact(v)) return out as Out;
      this.torn++;
      return null;
    }
    const c = item as SampleChunkView;
    let out: SampleArray;
    if (into) {
      out = (into as SampleArray).subarray(0, c.data.length);
      out.set(c.data as never);
    } else out = c.data.slice();
    if (c.valid()) return out as Out;
    this.torn += c.frames;
    return null;
  }

  /** Loss by cause: the writer's counters + `overwritten` (lapped, or torn during a copy) for this consumer. */
  drops(): Record<DropCause, number> {
    const d = this.reader.drops() as Record<DropCause, number>;
    d.overwritten += this.torn;
    return d;
  }

  /**
   * Whether a batch that has handed out `n` items may take another: fewer than `maxBatch` and still within
   * `maxBatchMs` of its wake-up. Loops over `take()` on a thread with other work check it per item.
   */
  more(n: number): boolean {
    return n < this.maxBatch && performance.now() < this.batchEnd && !this.ended;
  }

  /** Gives back the held frame-ring item (no-op for sample rings). */
  release(): void {
    this.reader.release();
  }

  /** Ends the consumer: releases its item, wakes a pending `wait()` (which returns false). Idempotent. */
  close(): void {
    this.end();
    this.reader.release();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      while (await this.wait()) {
        let n = 0;
        for (let it = this.take(); it; it = this.more(n) ? this.take() : null) {
          n++;
          yield it;
        }
      }
    } finally {
      this.close();
    }
  }

  private end(): void {
    if (this.ended && !this.onAbort) return;
    this.ended = true;
    if (this.onAbort) {
      this.signal!.removeEventListener('abort', this.onAbort);
      this.onAbort = null;
    }
    this.dropKeepAlive();
    this.dropTail();
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.done();
    }
    // Wake our own Atomics.waitAsync (other waiters on this ring see a spurious wake and re-check).
    Atomics.notify(this.i32, this.word);
  }

  private dropTail(): void {
    if (this.tail) clearTimeout(this.tail);
    this.tail = null;
  }

  private dropKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.sleeping = null;
        resolve();
      };
      this.sleeping = { timer: setTimeout(done, ms), done };
    });
  }
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0)) throw new InvalidOptionError(name, 'a number of milliseconds ≥ 0', v);
  return v;
}

/** A consumer of a frame ring (video, records): items are {@link FrameView}s. */
export function consumeFrames(sab: SharedArrayBuffer, opts?: RingConsumerOptions): RingConsumer<FrameView> {
  const c = new RingConsumer<FrameView>(sab, opts);
  if (c.kind !== 'frame') throw new InvalidStateError('consumeFrames() needs a frame ring (video, records); this is a sample ring: use consumeSamples()');
  return c;
}

/** A consumer of a sample ring (audio): items are {@link SampleChunkView}s. */
export function consumeSamples(sab: SharedArrayBuffer, opts?: RingConsumerOptions): RingConsumer<SampleChunkView> {
  const c = new RingConsumer<SampleChunkView>(sab, opts);
  if (c.kind !== 'sample') throw new InvalidStateError('consumeSamples() needs a sample ring (audio); this is a frame ring: use consumeFrames()');
  return c;
}
