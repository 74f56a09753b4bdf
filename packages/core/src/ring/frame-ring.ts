import { InvalidOptionError, InvalidStateError } from '../errors.js';
import { RingWriterBase, readWriterDrops } from './writer-base.js';
import {
  HEADER_BYTES,
  I32,
  I64,
  ItemFlags,
  RING_MAGIC,
  RING_VERSION,
  DEFAULT_BATCH_GAP_US,
  RingKind,
  RingState,
  SLOT_META_BYTES,
  SlotI32,
  SlotI64,
  WriterDropCause,
  frameRingGeometry,
  type FrameRingGeometry,
  type WriterDropCauseName,
} from './layout.js';

export interface FrameRingOptions {
  /** Number of slots (≥ 2). More slots = more history for slow readers. */
  slots: number;
  /** Capacity of one slot in bytes (the largest item). */
  slotBytes: number;
}

/**
 * Allocates a frame ring. The returned SharedArrayBuffer is the whole ring: hand it to a
 * {@link FrameRingWriter} in the source's worker and to any number of {@link FrameRingReader}s anywhere.
 */
export function createFrameRing({ slots, slotBytes }: FrameRingOptions): SharedArrayBuffer {
  if (!Number.isInteger(slots) || slots < 2 || slots > 65536) throw new InvalidOptionError('slots', 'an integer from 2 to 65536', slots);
  if (!Number.isInteger(slotBytes) || slotBytes < 1 || slotBytes > 2 ** 30)
    throw new InvalidOptionError('slotBytes', 'an integer from 1 to 2^30', slotBytes);
  const g = frameRingGeometry(slots, slotBytes);
  const sab = new SharedArrayBuffer(g.totalBytes);
  const i32 = new Int32Array(sab, 0, HEADER_BYTES / 4);
  i32[I32.MAGIC] = RING_MAGIC;
  i32[I32.VERSION] = RING_VERSION;
  i32[I32.KIND] = RingKind.frame;
  i32[I32.COUNT] = slots;
  i32[I32.UNIT_BYTES] = slotBytes;
  i32[I32.BATCH_GAP_US] = DEFAULT_BATCH_GAP_US;
  const table = new Int32Array(sab, g.seqTableOffset, slots);
  table.fill(-1);
  const meta64 = new BigInt64Array(sab, g.metaOffset, (slots * SLOT_META_BYTES) / 8);
  for (let s = 0; s < slots; s++) meta64[(s * SLOT_META_BYTES) / 8 + SlotI64.SEQ] = -1n;
  return sab;
}

/** Common views over a frame ring's buffer. */
export class FrameRingViews {
  readonly g: FrameRingGeometry;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly table: Int32Array;
  readonly meta32: Int32Array;
  readonly meta64: BigInt64Array;
  readonly bytes: Uint8Array;

  constructor(readonly sab: SharedArrayBuffer) {
    const head = new Int32Array(sab, 0, HEADER_BYTES / 4);
    if (head[I32.MAGIC] !== RING_MAGIC || head[I32.KIND] !== RingKind.frame)
      throw new InvalidOptionError('sab', 'a SharedArrayBuffer made by createFrameRing()', '(another buffer)');
    if (head[I32.VERSION] !== RING_VERSION)
      throw new InvalidStateError(`frame ring version ${head[I32.VERSION]} is not supported (this build reads version ${RING_VERSION})`);
    this.g = frameRingGeometry(head[I32.COUNT], head[I32.UNIT_BYTES]);
    this.i32 = head;
    this.i64 = new BigInt64Array(sab, 0, HEADER_BYTES / 8);
    this.table = new Int32Array(sab, this.g.seqTableOffset, this.g.slots);
    this.meta32 = new Int32Array(sab, this.g.metaOffset, (this.g.slots * SLOT_META_BYTES) / 4);
    this.meta64 = new BigInt64Array(sab, this.g.metaOffset, (this.g.slots * SLOT_META_BYTES) / 8);
    this.bytes = new Uint8Array(sab);
  }

  m32(slot: number, field: number): number {
    return slot * (SLOT_META_BYTES / 4) + field;
  }
  m64(slot: number, field: number): number {
    return slot * (SLOT_META_BYTES / 8) + field;
  }
  slotData(slot: number): Uint8Array {
    return new Uint8Array(this.sab, this.g.dataOffset + slot * this.g.slotStride, this.g.slotBytes);
  }
  /** Items committed so far (the next seq to be written). */
  head(): bigint {
    return Atomics.load(this.i64, I64.WRITE_SEQ);
  }
  state(): number {
    return Atomics.load(this.i32, I32.STATE);
  }
  writerDrops(): Record<WriterDropCauseName, number> {
    return readWriterDrops(this.i64);
  }

}

/**
 * A slot handed to the writer for in-place filling. The object is reused: set its format fields (they start
 * from the writer's defaults) and fill `data`, then `commit()`. Never keep it past commit/abort.
 */
export interface WritableSlot {
  readonly index: number;
  /** The slot's whole capacity, over the SharedArrayBuffer. Write the payload here. */
  readonly data: Uint8Array;
  width: number;
  height: number;
  stride: number;
  /** Pixel format (FourCC code) or another format code the stream defines. */
  format: number;
  flags: number;
}

export interface FrameFormatDefaults {
  width?: number;
  height?: number;
  stride?: number;
  format?: number;
}

/**
 * The single writer of a frame ring. Never waits for a reader: a slot a reader holds is skipped, and if
 * every slot is held the item is dropped and counted under `ringFull`.
 *
 * @example
 * ```ts
 * const slot = writer.begin();
 * if (slot) { fillPixels(slot.data); writer.commit(slot, byteLength, captureNs); }
 * ```
 */
export class FrameRingWriter extends RingWriterBase {
  private readonly v: FrameRingViews;
  private readonly slots: WritableSlot[];
  private open: WritableSlot | null = null;

  constructor(sab: SharedArrayBuffer, private readonly defaults: FrameFormatDefaults = {}) {
    const v = new FrameRingViews(sab); // validates the buffer before the base class views it
    super(sab);
    this.v = v;
    this.slots = Array.from({ length: this.v.g.slots }, (_, index) => ({
      index,
      data: this.v.slotData(index),
      width: 0,
      height: 0,
      stride: 0,
      format: 0,
      flags: 0,
    }));
  }

  get sab(): SharedArrayBuffer {
    return this.v.sab;
  }
  get capacity(): number {
    return this.v.g.slotBytes;
  }
  /** The seq the next committed item will get. */
  get nextSeq(): bigint {
    return this.v.head();
  }

  /**
   * Claims the oldest free slot for writing, or returns null (and counts a `ringFull` drop) when readers
   * hold every slot. Allocation-free.
   */
  begin(): WritableSlot | null {
    if (this.open) throw new InvalidStateError('begin() called twice without commit() or abort()');
    const { i32, meta32, g } = this.v;
    const start = i32[I32.NEXT_SLOT];
    for (let k = 0; k < g.slots; k++) {
      const s = (start + k) % g.slots;
      if (Atomics.compareExchange(meta32, this.v.m32(s, SlotI32.LEASE), 0, -1) === 0) {
        i32[I32.NEXT_SLOT] = (s + 1) % g.slots;
        const slot = this.slots[s];
        slot.width = this.defaults.width ?? 0;
        slot.height = this.defaults.height ?? 0;
        slot.stride = this.defaults.stride ?? 0;
        slot.format = this.defaults.format ?? 0;
        slot.flags = 0;
        this.open = slot;
        return slot;
      }
    }
    this.reportDrop('ringFull', 1);
    return null;
  }

  /** Publishes the slot as the newest item and wakes readers. Returns its seq. */
  commit(slot: WritableSlot, byteLength: number, captureNs: bigint, receiveNs: bigint = process.hrtime.bigint()): bigint {
    if (slot !== this.open) throw new InvalidStateError('commit() of a slot that is not open');
    if (byteLength < 0 || byteLength > this.v.g.slotBytes)
      throw new InvalidOptionError('byteLength', `0..${this.v.g.slotBytes} (the slot capacity)`, byteLength);
    const { meta32, meta64, i64, i32, table } = this.v;
    const s = slot.index;
    const seq = i64[I64.WRITE_SEQ];
    meta64[this.v.m64(s, SlotI64.SEQ)] = seq;
    meta64[this.v.m64(s, SlotI64.CAPTURE_NS)] = captureNs;
    meta64[this.v.m64(s, SlotI64.RECEIVE_NS)] = receiveNs;
    meta32[this.v.m32(s, SlotI32.BYTE_LENGTH)] = byteLength;
    meta32[this.v.m32(s, SlotI32.WIDTH)] = slot.width;
    meta32[this.v.m32(s, SlotI32.HEIGHT)] = slot.height;
    meta32[this.v.m32(s, SlotI32.STRIDE)] = slot.stride;
    meta32[this.v.m32(s, SlotI32.FORMAT)] = slot.format;
    meta32[this.v.m32(s, SlotI32.FLAGS)] = slot.flags | this.takeFlags();
    this.open = null;
    // Release the slot, then publish: a reader that sees WRITE_SEQ > seq finds the slot complete.
    Atomics.store(meta32, this.v.m32(s, SlotI32.LEASE), 0);
    Atomics.store(table, Number(seq % BigInt(this.v.g.slots)), s);
    Atomics.store(i64, I64.WRITE_SEQ, seq + 1n);
    this.committed();
    return seq;
  }

  /** Gives the slot back unpublished (e.g. the capture failed). */
  abort(slot: WritableSlot): void {
    if (slot !== this.open) return;
    this.open = null;
    // The slot's old item may be partly overwritten now: it no longer holds any seq (copies of it fail validation).
    Atomics.store(this.v.meta64, this.v.m64(slot.index, SlotI64.SEQ), -1n);
    Atomics.store(this.v.meta32, this.v.m32(slot.index, SlotI32.LEASE), 0);
  }

  /** Copies `bytes` into a fresh slot and commits it. Returns the seq, or null when dropped (ring full). */
  write(bytes: ArrayBufferView, captureNs: bigint, fields?: Partial<Omit<WritableSlot, 'index' | 'data'>>): bigint | null {
    const slot = this.begin();
    if (!slot) return null;
    if (bytes.byteLength > slot.data.byteLength) {
      this.abort(slot);
      throw new InvalidOptionError('bytes', `at most ${slot.data.byteLength} bytes (the slot capacity)`, `${bytes.byteLength} bytes`);
    }
    slot.data.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (fields) Object.assign(slot, fields);
    return this.commit(slot, bytes.byteLength, captureNs);
  }

  /**
   * Jumps the next seq forward to `seq` (for sources that relay another ring and keep its seq numbers,
   * e.g. a remote stream): the skipped seqs are marked as gaps — readers skip them without counting them
   * as `overwritten` — and counted once under `cause` (or not at all with `count` false: a relay that joins
   * a stream mid-way has lost nothing).
   */
  skipTo(seq: bigint, cause: WriterDropCauseName = 'driver', count = true): void {
    const { i64, table, g } = this.v;
    const head = i64[I64.WRITE_SEQ];
    if (seq <= head) return;
    const n = seq - head;
    const mark = n > BigInt(g.slots) ? BigInt(g.slots) : n;
    for (let k = 0n; k < mark; k++) Atomics.store(table, Number((seq - 1n - k) % BigInt(g.slots)), -1);
    Atomics.store(i64, I64.SKIP_FROM, head);
    Atomics.store(i64, I64.SKIP_TO, seq);
    Atomics.store(i64, I64.WRITE_SEQ, seq);
    if (count) this.reportDrop(cause, Number(n));
  }


}

/** One item as a reader sees it. `data` is a zero-copy view valid while the reader holds the item. */
export interface FrameView {
  seq: bigint;
  captureNs: bigint;
  receiveNs: bigint;
  /** The payload: a view over the SharedArrayBuffer (no copy). */
  data: Uint8Array;
  byteLength: number;
  width: number;
  height: number;
  stride: number;
  format: number;
  flags: number;
  /** Slot index (diagnostics). */
  slot: number;
}

export interface FrameReaderOptions {
  /** Where the cursor starts: only items committed after attach (`now`, default) or the oldest still held (`oldest`). */
  from?: 'now' | 'oldest';
}

/**
 * A reader of a frame ring with its own cursor, usable in any thread that has the SharedArrayBuffer.
 *
 * Guarantees:
 * - A returned {@link FrameView} is consistent and stays untouched until this reader's next `next()`,
 *   `latest()` or `release()` call: the reader holds a lease on its slot and the writer skips leased slots.
 * - `latest()` never returns an item older than the newest complete one at the time of the call.
 * - Items the writer lapped before this reader got to them are counted in `drops.overwritten`, exactly.
 */
export class FrameRingReader {
  private readonly v: FrameRingViews;
  private cursor: bigint;
  private held = -1;
  private overwritten = 0;
  private readonly dataViews: Uint8Array[];

  constructor(sab: SharedArrayBuffer, opts: FrameReaderOptions = {}) {
    this.v = new FrameRingViews(sab);
    this.dataViews = Array.from({ length: this.v.g.slots }, (_, i) => this.v.slotData(i));
    const head = this.v.head();
    const oldest = head - BigInt(this.v.g.slots);
    this.cursor = opts.from === 'oldest' ? (oldest > 0n ? oldest : 0n) : head;
  }

  get sab(): SharedArrayBuffer {
    return this.v.sab;
  }
  get slots(): number {
    return this.v.g.slots;
  }
  get slotBytes(): number {
    return this.v.g.slotBytes;
  }
  /** The seq this reader will try next. */
  get position(): bigint {
    return this.cursor;
  }
  /** Items committed by the writer so far. */
  head(): bigint {
    return this.v.head();
  }
  /** Items waiting for this reader (may include some that will turn out overwritten). */
  pending(): number {
    return Number(this.v.head() - this.cursor);
  }
  state(): number {
    return this.v.state();
  }
  /** Loss seen by this reader (`overwritten`) plus the writer's counters. */
  drops(): Record<string, number> {
    return { ...this.v.writerDrops(), overwritten: this.overwritten };
  }
  gaps(): number {
    return Number(Atomics.load(this.v.i64, I64.GAPS));
  }

  /** The next item after the cursor, or null when there is none yet. Skips (and counts) overwritten items. */
  next(): FrameView | null {
    this.release();
    for (;;) {
      const head = this.v.head();
      if (this.cursor >= head) return null;
      // Seqs the writer skipped were never written: jump over them without counting.
      const skipTo = Atomics.load(this.v.i64, I64.SKIP_TO);
      if (this.cursor < skipTo && this.cursor >= Atomics.load(this.v.i64, I64.SKIP_FROM)) {
        this.cursor = skipTo;
        // The skip target is not written yet: stop here, or the item committed next would be passed over.
        if (this.cursor >= head) return null;
      }
      const oldest = head - BigInt(this.v.g.slots);
      if (this.cursor < oldest) {
        this.overwritten += Number(oldest - this.cursor);
        this.cursor = oldest;
      }
      const seq = this.cursor;
      this.cursor++;
      const view = this.acquire(seq);
      if (view) return view;
      // A seq the writer skipped (skipTo) was never written: it is a counted gap, not an overwrite.
      if (Atomics.load(this.v.table, Number(seq % BigInt(this.v.g.slots))) !== -1) this.overwritten++;
    }
  }

  /** The newest complete item, or null when nothing was written. Does not move the cursor. */
  latest(): FrameView | null {
    this.release();
    for (let attempt = 0; attempt < 4; attempt++) {
      const head = this.v.head();
      if (head === 0n) return null;
      const view = this.acquire(head - 1n);
      if (view) return view;
    }
    return null;
  }

  /**
   * The item with this seq if the ring still holds it, else null. Releases the previously held item; does
   * not move the cursor. For looking back (e.g. `history(n)`).
   */
  at(seq: bigint): FrameView | null {
    this.release();
    if (seq < 0n || seq >= this.v.head()) return null;
    return this.acquire(seq);
  }

  /** Moves the cursor to the head: the next `next()` returns only items committed after now. */
  skipToHead(): void {
    this.cursor = this.v.head();
  }

  /**
   * Whether `view`'s bytes are still the item's: true while this reader holds it; after that, only while the
   * writer has neither claimed nor reused its slot. Check it AFTER copying a view you no longer hold.
   */
  intact(view: FrameView): boolean {
    // Lease first: not being written now (a held slot never is); then the seq: not reused or aborted since.
    return (
      Atomics.load(this.v.meta32, this.v.m32(view.slot, SlotI32.LEASE)) >= 0 &&
      Atomics.load(this.v.meta64, this.v.m64(view.slot, SlotI64.SEQ)) === view.seq
    );
  }

  /** Gives back the held item (its view must not be used afterwards). */
  release(): void {
    if (this.held < 0) return;
    Atomics.sub(this.v.meta32, this.v.m32(this.held, SlotI32.LEASE), 1);
    this.held = -1;
  }

  private acquire(seq: bigint): FrameView | null {
    const { meta32, meta64, table, g } = this.v;
    const slot = Atomics.load(table, Number(seq % BigInt(g.slots)));
    if (slot < 0) return null;
    const li = this.v.m32(slot, SlotI32.LEASE);
    // Take a read lease unless the writer holds the slot (-1).
    for (;;) {
      const cur = Atomics.load(meta32, li);
      if (cur < 0) return null;
      if (Atomics.compareExchange(meta32, li, cur, cur + 1) === cur) break;
    }
    if (Atomics.load(meta64, this.v.m64(slot, SlotI64.SEQ)) !== seq) {
      Atomics.sub(meta32, li, 1);
      return null;
    }
    this.held = slot;
    const byteLength = meta32[this.v.m32(slot, SlotI32.BYTE_LENGTH)];
    return {
      seq,
      captureNs: meta64[this.v.m64(slot, SlotI64.CAPTURE_NS)],
      receiveNs: meta64[this.v.m64(slot, SlotI64.RECEIVE_NS)],
      data: this.dataViews[slot].subarray(0, byteLength),
      byteLength,
      width: meta32[this.v.m32(slot, SlotI32.WIDTH)],
      height: meta32[this.v.m32(slot, SlotI32.HEIGHT)],
      stride: meta32[this.v.m32(slot, SlotI32.STRIDE)],
      format: meta32[this.v.m32(slot, SlotI32.FORMAT)],
      flags: meta32[this.v.m32(slot, SlotI32.FLAGS)],
      slot,
    };
  }
}

export { SLOT_META_BYTES };
