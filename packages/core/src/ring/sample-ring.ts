import { InvalidOptionError, InvalidStateError, OverrunError } from '../errors.js';
import { prefaultPages } from './prefault.js';
import { RingWriterBase, readWriterDrops } from './writer-base.js';
import {
  CHUNK_BYTES,
  ChunkI32,
  ChunkI64,
  HEADER_BYTES,
  I32,
  I64,
  ItemFlags,
  RING_MAGIC,
  RING_VERSION,
  DEFAULT_BATCH_GAP_US,
  RingKind,
  RingState,
  SAMPLE_FORMATS,
  SampleFormatCode,
  WriterDropCause,
  bytesPerSample,
  sampleFormatName,
  sampleRingGeometry,
  type SampleFormat,
  type SampleRingGeometry,
  type WriterDropCauseName,
} from './layout.js';

export type SampleArray = Int16Array | Int32Array | Float32Array;

/** How often `read(n)` retries a copy the writer tore before it throws {@link OverrunError}. */
const READ_ATTEMPTS = 8;

export interface SampleRingOptions {
  channels: number;
  rate: number;
  format: SampleFormat;
  /** Ring length in frames (one frame = one sample per channel). */
  capacityFrames: number;
  /** Chunk records kept (≥ capacity / smallest chunk, so every sample in the ring has its capture time). */
  chunks?: number;
}

/** Allocates a sample ring (audio): interleaved samples plus per-chunk capture times. Its pages are made resident here (see prefault.ts). */
export function createSampleRing(o: SampleRingOptions): SharedArrayBuffer {
  if (!Number.isInteger(o.channels) || o.channels < 1 || o.channels > 64) throw new InvalidOptionError('channels', 'an integer from 1 to 64', o.channels);
  if (!Number.isInteger(o.rate) || o.rate < 1 || o.rate > 1_536_000) throw new InvalidOptionError('rate', 'an integer rate in Hz from 1 to 1536000', o.rate);
  if (!SAMPLE_FORMATS.includes(o.format)) throw new InvalidOptionError('format', `one of ${SAMPLE_FORMATS.join(', ')}`, o.format);
  if (!Number.isInteger(o.capacityFrames) || o.capacityFrames < 16) throw new InvalidOptionError('capacityFrames', 'an integer ≥ 16', o.capacityFrames);
  const chunks = o.chunks ?? 4096;
  const bpf = o.channels * bytesPerSample(o.format);
  const g = sampleRingGeometry(chunks, o.capacityFrames, bpf);
  const sab = new SharedArrayBuffer(g.totalBytes);
  const i32 = new Int32Array(sab, 0, HEADER_BYTES / 4);
  i32[I32.MAGIC] = RING_MAGIC;
  i32[I32.VERSION] = RING_VERSION;
  i32[I32.KIND] = RingKind.sample;
  i32[I32.COUNT] = chunks;
  i32[I32.UNIT_BYTES] = bpf;
  i32[I32.BATCH_GAP_US] = DEFAULT_BATCH_GAP_US;
  i32[I32.CHANNELS] = o.channels;
  i32[I32.RATE] = o.rate;
  i32[I32.SAMPLE_FORMAT] = SampleFormatCode[o.format];
  i32[I32.CAPACITY_FRAMES] = o.capacityFrames;
  const c64 = new BigInt64Array(sab, g.chunkOffset, (chunks * CHUNK_BYTES) / 8);
  for (let k = 0; k < chunks; k++) c64[(k * CHUNK_BYTES) / 8 + ChunkI64.SEQ] = -1n;
  // Resident now, not one page fault at a time in the capture thread during the first lap.
  prefaultPages(sab, g.dataOffset);
  return sab;
}

/** Common views over a sample ring. */
export class SampleRingViews {
  readonly g: SampleRingGeometry;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly c32: Int32Array;
  readonly c64: BigInt64Array;
  readonly channels: number;
  readonly rate: number;
  readonly format: SampleFormat;
  /** The sample data as the format's typed array (interleaved). */
  readonly samples: SampleArray;

  constructor(readonly sab: SharedArrayBuffer) {
    const head = new Int32Array(sab, 0, HEADER_BYTES / 4);
    if (head[I32.MAGIC] !== RING_MAGIC || head[I32.KIND] !== RingKind.sample)
      throw new InvalidOptionError('sab', 'a SharedArrayBuffer made by createSampleRing()', '(another buffer)');
    if (head[I32.VERSION] !== RING_VERSION)
      throw new InvalidStateError(`sample ring version ${head[I32.VERSION]} is not supported (this build reads version ${RING_VERSION})`);
    this.i32 = head;
    this.i64 = new BigInt64Array(sab, 0, HEADER_BYTES / 8);
    this.channels = head[I32.CHANNELS];
    this.rate = head[I32.RATE];
    this.format = sampleFormatName(head[I32.SAMPLE_FORMAT]);
    this.g = sampleRingGeometry(head[I32.COUNT], head[I32.CAPACITY_FRAMES], head[I32.UNIT_BYTES]);
    this.c32 = new Int32Array(sab, this.g.chunkOffset, (this.g.chunks * CHUNK_BYTES) / 4);
    this.c64 = new BigInt64Array(sab, this.g.chunkOffset, (this.g.chunks * CHUNK_BYTES) / 8);
    const n = this.g.capacityFrames * this.channels;
    this.samples =
      this.format === 's16le'
        ? new Int16Array(sab, this.g.dataOffset, n)
        : this.format === 's32le'
          ? new Int32Array(sab, this.g.dataOffset, n)
          : new Float32Array(sab, this.g.dataOffset, n);
  }

  chunk64(seq: bigint, field: number): number {
    return Number(seq % BigInt(this.g.chunks)) * (CHUNK_BYTES / 8) + field;
  }
  chunk32(seq: bigint, field: number): number {
    return Number(seq % BigInt(this.g.chunks)) * (CHUNK_BYTES / 4) + field;
  }
  framesWritten(): bigint {
    return Atomics.load(this.i64, I64.FRAMES_WRITTEN);
  }
  chunksWritten(): bigint {
    return Atomics.load(this.i64, I64.WRITE_SEQ);
  }
  /** Frames below this index may already be overwritten (by a write in progress or done). */
  validFrom(): bigint {
    const f = Atomics.load(this.i64, I64.FRAMES_RESERVED) - BigInt(this.g.capacityFrames);
    return f > 0n ? f : 0n;
  }
  state(): number {
    return Atomics.load(this.i32, I32.STATE);
  }
  writerDrops(): Record<WriterDropCauseName, number> {
    return readWriterDrops(this.i64);
  }


  /** Frame index captured at `ns` (inverse of captureNsOf), or null when no chunk that old is recorded. */
  frameAt(ns: bigint): bigint | null {
    const written = this.chunksWritten();
    if (written === 0n) return null;
    let lo = written - BigInt(this.g.chunks) + 1n;
    if (lo < 0n) lo = 0n;
    let hi = written - 1n;
    let found = -1n;
    while (lo <= hi) {
      const mid = (lo + hi) / 2n;
      if (this.c64[this.chunk64(mid, ChunkI64.CAPTURE_NS)] <= ns) {
        found = mid;
        lo = mid + 1n;
      } else hi = mid - 1n;
    }
    if (found < 0n) return null;
    const start = this.c64[this.chunk64(found, ChunkI64.START_FRAME)];
    const cap = this.c64[this.chunk64(found, ChunkI64.CAPTURE_NS)];
    return start + ((ns - cap) * BigInt(this.rate)) / 1_000_000_000n;
  }

  /**
   * Capture time (CLOCK_MONOTONIC ns) of frame index `frame`, from the chunk that holds it (or the nearest
   * earlier chunk, extrapolated at the nominal rate). Null when no chunk that old is still recorded.
   */
  captureNsOf(frame: bigint): bigint | null {
    const written = this.chunksWritten();
    if (written === 0n) return null;
    let lo = written - BigInt(this.g.chunks) + 1n; // the oldest record might be mid-overwrite: skip it
    if (lo < 0n) lo = 0n;
    let hi = written - 1n;
    // Binary search the last chunk whose START_FRAME ≤ frame (START_FRAME grows with seq).
    let found = -1n;
    while (lo <= hi) {
      const mid = (lo + hi) / 2n;
      const start = this.c64[this.chunk64(mid, ChunkI64.START_FRAME)];
      if (start <= frame) {
        found = mid;
        lo = mid + 1n;
      } else hi = mid - 1n;
    }
    if (found < 0n) return null;
    // Seqlock read (as chunkAt): the record is found's before and after its fields are read.
    const seqAt = this.chunk64(found, ChunkI64.SEQ);
    if (Atomics.load(this.c64, seqAt) !== found) return null;
    const start = this.c64[this.chunk64(found, ChunkI64.START_FRAME)];
    const cap = this.c64[this.chunk64(found, ChunkI64.CAPTURE_NS)];
    if (Atomics.load(this.c64, seqAt) !== found) return null;
    return cap + ((frame - start) * 1_000_000_000n) / BigInt(this.rate);
  }
}

/** A contiguous region of the ring handed to the writer for in-place filling. */
export interface SampleReservation {
  /** Index of the first frame of the region (the 64-bit frames-written count it will start at). */
  startFrame: bigint;
  /** Frames available in this contiguous region (≤ what was asked: the region stops at the ring's end). */
  frames: number;
  /** Interleaved samples of the region, over the SharedArrayBuffer. */
  samples: SampleArray;
  /** Byte offset of the region in the SharedArrayBuffer (for native code that reads into it). */
  byteOffset: number;
  byteLength: number;
}

/** A reservation whose sample view is made on first use: a native read fills the ring by byte offset, and a typed array per chunk was a measurable share of a 64-frame chunk's cost. */
class Reservation implements SampleReservation {
  private view: SampleArray | null = null;
  constructor(
    private readonly all: SampleArray,
    readonly startFrame: bigint,
    readonly frames: number,
    private readonly first: number,
    readonly byteOffset: number,
    readonly byteLength: number,
  ) {}
  get samples(): SampleArray {
    return (this.view ??= this.all.subarray(this.first, this.first + this.byteLength / this.all.BYTES_PER_ELEMENT));
  }
}

/**
 * The single writer of a sample ring. `reserve()` hands out the next contiguous region (it stops at the
 * ring's end, so a wrap is two chunks), the source fills it (a native read writes straight into it), and
 * `commit()` publishes the frames with their capture time. The writer never waits for readers.
 *
 * @example
 * ```ts
 * const r = writer.reserve(period);
 * const got = pcm.readInto(ring.sab, r.byteOffset, r.frames);
 * writer.commit(got, captureNsOfFirstFrame);
 * ```
 */
export class SampleRingWriter extends RingWriterBase {
  private readonly v: SampleRingViews;
  private reserved = 0;

  constructor(sab: SharedArrayBuffer) {
    const v = new SampleRingViews(sab); // validates the buffer before the base class views it
    super(sab);
    this.v = v;
  }

  get sab(): SharedArrayBuffer {
    return this.v.sab;
  }
  get channels(): number {
    return this.v.channels;
  }
  get rate(): number {
    return this.v.rate;
  }
  get format(): SampleFormat {
    return this.v.format;
  }
  get capacityFrames(): number {
    return this.v.g.capacityFrames;
  }
  get bytesPerFrame(): number {
    return this.v.g.bytesPerFrame;
  }
  get framesWritten(): bigint {
    return this.v.framesWritten();
  }

  /** Reserves up to `maxFrames` contiguous frames at the write position and marks them as being overwritten. */
  reserve(maxFrames: number): SampleReservation {
    const { g, i64, channels } = this.v;
    if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new InvalidOptionError('maxFrames', 'a positive integer', maxFrames);
    const start = i64[I64.FRAMES_WRITTEN];
    // Modulo on numbers: exact below 2^53 frames (186 years at the highest rate), and no BigInts made per chunk.
    const pos = Number(start) % g.capacityFrames;
    const frames = Math.min(maxFrames, g.capacityFrames - pos);
    this.reserved = frames;
    // Publish the overwrite frontier before touching the samples, so readers can detect a torn copy.
    Atomics.store(i64, I64.FRAMES_RESERVED, start + BigInt(frames));
    return new Reservation(this.v.samples, start, frames, pos * channels, g.dataOffset + pos * g.bytesPerFrame, frames * g.bytesPerFrame);
  }

  /** Publishes `frames` (≤ reserved) frames whose first frame was captured at `captureNs`. Returns the chunk seq. */
  commit(frames: number, captureNs: bigint, receiveNs: bigint = process.hrtime.bigint(), flags = 0): bigint {
    if (!Number.isInteger(frames) || frames < 0 || frames > this.reserved)
      throw new InvalidOptionError('frames', `an integer from 0 to ${this.reserved} (the reserved frames)`, frames);
    const { i64, i32, c64, c32 } = this.v;
    const start = i64[I64.FRAMES_WRITTEN];
    this.reserved = 0;
    if (frames === 0) {
      Atomics.store(i64, I64.FRAMES_RESERVED, start);
      return -1n;
    }
    const seq = i64[I64.WRITE_SEQ];
    // The record's slot, computed once and on numbers (BigInt modulos were a measurable share of a 64-frame chunk).
    const k = Number(seq) % this.v.g.chunks;
    const r64 = k * (CHUNK_BYTES / 8);
    const r32 = k * (CHUNK_BYTES / 4);
    // Seqlock the chunk record: SEQ = -1 while its fields change.
    Atomics.store(c64, r64 + ChunkI64.SEQ, -1n);
    c64[r64 + ChunkI64.START_FRAME] = start;
    c64[r64 + ChunkI64.CAPTURE_NS] = captureNs;
    c64[r64 + ChunkI64.RECEIVE_NS] = receiveNs;
    c32[r32 + ChunkI32.FRAMES] = frames;
    c32[r32 + ChunkI32.FLAGS] = flags | this.takeFlags();
    Atomics.store(c64, r64 + ChunkI64.SEQ, seq);
    const end = start + BigInt(frames);
    Atomics.store(i64, I64.FRAMES_RESERVED, end);
    Atomics.store(i64, I64.FRAMES_WRITTEN, end);
    Atomics.store(i64, I64.WRITE_SEQ, seq + 1n);
    this.committed();
    return seq;
  }

  /**
   * Lends the ring to a native writer on this thread for one call (`native/sample-ring.h`: it reserves,
   * fills and commits chunks itself, without returning to JavaScript per chunk). Returns the flags owed to its
   * first chunk; pass what it did not apply back to {@link nativeDone}.
   */
  nativeBegin(): number {
    return this.takeFlags();
  }

  /**
   * After a native writer's call: `unusedFlags` (it committed nothing) are owed to the next chunk again, and
   * readers are woken for its `chunks` commits (it wakes nobody itself: Atomics.notify is JavaScript's).
   */
  nativeDone(chunks: number, unusedFlags: number): void {
    this.restoreFlags(unusedFlags);
    if (chunks > 0) this.committed();
  }

  /** Copies interleaved samples in (splitting at the ring's end). For sources that cannot write in place. */
  write(samples: SampleArray, captureNs: bigint, receiveNs: bigint = process.hrtime.bigint()): void {
    const ch = this.v.channels;
    let done = 0;
    const total = samples.length / ch;
    while (done < total) {
      const r = this.reserve(Math.min(total - done, this.v.g.capacityFrames));
      r.samples.set(samples.subarray(done * ch, (done + r.frames) * ch));
      const t = captureNs + (BigInt(done) * 1_000_000_000n) / BigInt(this.v.rate);
      this.commit(r.frames, t, receiveNs);
      done += r.frames;
    }
  }


}

/** A chunk as a reader sees it: one committed write of contiguous frames. */
export interface SampleChunkView {
  seq: bigint;
  startFrame: bigint;
  frames: number;
  captureNs: bigint;
  receiveNs: bigint;
  flags: number;
  /** Interleaved samples: a zero-copy view, valid while `valid()` is true (until the writer laps it). */
  data: SampleArray;
  /** True while the writer has not begun overwriting this chunk's samples. */
  valid(): boolean;
}

/** Result of {@link SampleRingReader.read}. */
export interface SampleBlock {
  /** Interleaved samples, `frames × channels` long (a copy: it stays valid). */
  data: SampleArray;
  frames: number;
  /** Frame index of the first sample (frames written before it since the stream began). */
  startFrame: bigint;
  /** Capture time of the first sample (CLOCK_MONOTONIC ns), or null if no sample was written yet. */
  captureNs: bigint | null;
}

/**
 * A reader of a sample ring, usable in any thread that has the SharedArrayBuffer.
 *
 * Guarantees:
 * - `read(n)` returns the newest `n` frames and the first one's capture time (fewer frames only if fewer
 *   were ever written, or if `n` and the writer's open reservation exceed the ring), copied out and
 *   verified untouched by the writer after the copy. A torn copy is retried; after 8 torn attempts it throws
 *   {@link OverrunError} — unverified samples are never returned.
 * - `next()` returns chunks in order; chunks lapped by the writer are skipped and their frames counted in
 *   `drops().overwritten`.
 */
export class SampleRingReader {
  private readonly v: SampleRingViews;
  private cursor: bigint;
  private overwrittenFrames = 0;

  constructor(sab: SharedArrayBuffer, opts: { from?: 'now' | 'oldest' } = {}) {
    this.v = new SampleRingViews(sab);
    const written = this.v.chunksWritten();
    const oldest = written - BigInt(this.v.g.chunks) + 1n;
    this.cursor = opts.from === 'oldest' ? (oldest > 0n ? oldest : 0n) : written;
  }

  get sab(): SharedArrayBuffer {
    return this.v.sab;
  }
  get channels(): number {
    return this.v.channels;
  }
  get rate(): number {
    return this.v.rate;
  }
  get format(): SampleFormat {
    return this.v.format;
  }
  get capacityFrames(): number {
    return this.v.g.capacityFrames;
  }
  framesWritten(): bigint {
    return this.v.framesWritten();
  }
  /** The chunk seq this reader will try next. */
  get position(): bigint {
    return this.cursor;
  }
  /** Chunks waiting for this reader (some may turn out overwritten). */
  pending(): number {
    return Number(this.v.chunksWritten() - this.cursor);
  }
  state(): number {
    return this.v.state();
  }
  drops(): Record<string, number> {
    return { ...this.v.writerDrops(), overwritten: this.overwrittenFrames };
  }
  gaps(): number {
    return Number(Atomics.load(this.v.i64, I64.GAPS));
  }
  captureNsOf(frame: bigint): bigint | null {
    return this.v.captureNsOf(frame);
  }

  /**
   * The newest `n` frames as one contiguous interleaved copy, with the capture time of the first.
   * Pass `into` to reuse your own buffer (it must hold `n × channels` samples of the ring's type).
   */
  read(n: number, into?: SampleArray): SampleBlock {
    const { g } = this.v;
    if (!Number.isInteger(n) || n < 1 || n > g.capacityFrames)
      throw new InvalidOptionError('n', `an integer from 1 to ${g.capacityFrames} (the ring capacity in frames)`, n);
    return this.copyRange((written) => written - BigInt(n), n, into);
  }

  /**
   * Frames `[startFrame, startFrame + n)` copied out (clipped to what the ring still holds and what was
   * written), with the capture time of the first. Use with `frameAt(captureNs)` to read by time.
   */
  readRange(startFrame: bigint, n: number, into?: SampleArray): SampleBlock {
    if (!Number.isInteger(n) || n < 1 || n > this.v.g.capacityFrames)
      throw new InvalidOptionError('n', `an integer from 1 to ${this.v.g.capacityFrames} (the ring capacity in frames)`, n);
    return this.copyRange(() => startFrame, n, into);
  }

  /** Frame index captured at `ns` (null if older than the ring's records). */
  frameAt(ns: bigint): bigint | null {
    return this.v.frameAt(ns);
  }

  /** `startOf` gets the frames-written count the attempt clips to: one load, so a commit between two loads cannot leave the window empty. */
  private copyRange(startOf: (written: bigint) => bigint, n: number, into?: SampleArray): SampleBlock {
    const { channels } = this.v;
    if (into && into.length < n * channels)
      throw new InvalidOptionError('into', `a ${this.v.samples.constructor.name} of at least ${n * channels} samples (n × channels)`, `${into.length} samples`);
    const out = into ?? this.alloc(n * channels);
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      // validFrom before written: then validFrom ≤ written, so a writer that ran on between the two loads
      // cannot push the window past the written count and leave it empty.
      const validFrom = this.v.validFrom();
      const written = this.v.framesWritten();
      let start = startOf(written);
      if (start < validFrom) start = validFrom;
      let end = start + BigInt(n);
      if (end > written) end = written;
      const frames = end > start ? Number(end - start) : 0;
      this.copyOut(start, frames, out);
      // The capture time is looked up before the check too: a writer that lapped the chunk records of `start`
      // lapped its samples (the records cover the ring), so a block never leaves without its time.
      const captureNs = frames ? this.v.captureNsOf(start) : null;
      // Verified after the copy: torn if the writer reserved past our start meanwhile. Then retry (the writer
      // is never blocked); data that failed the check is never returned.
      if (start >= this.v.validFrom()) {
        const data = out.length === frames * channels ? out : (out.subarray(0, frames * channels) as SampleArray);
        return { data, frames, startFrame: start, captureNs };
      }
    }
    throw new OverrunError(`the writer overwrote the samples on each of ${READ_ATTEMPTS} read attempts (ring of ${this.v.g.capacityFrames} frames, n = ${n}): read fewer frames or use a larger ring`, {
      n,
      capacityFrames: this.v.g.capacityFrames,
    });
  }

  chunksWritten(): bigint {
    return this.v.chunksWritten();
  }

  /** The newest chunk, or null before the first. Does not move the cursor. */
  latest(): SampleChunkView | null {
    for (let attempt = 0; attempt < 4; attempt++) {
      const written = this.v.chunksWritten();
      if (written === 0n) return null;
      const c = this.chunkAt(written - 1n);
      if (c) return c;
    }
    return null;
  }

  /** The next chunk after the cursor, or null. */
  next(): SampleChunkView | null {
    for (;;) {
      const written = this.v.chunksWritten();
      if (this.cursor >= written) return null;
      const seq = this.cursor++;
      const c = this.chunkAt(seq);
      if (c) return c;
      this.overwrittenFrames += this.lostFramesOf(seq);
    }
  }

  private chunkAt(seq: bigint): SampleChunkView | null {
    const { c64, c32, g } = this.v;
    const sSeq = Atomics.load(c64, this.v.chunk64(seq, ChunkI64.SEQ));
    const startFrame = c64[this.v.chunk64(seq, ChunkI64.START_FRAME)];
    const frames = c32[this.v.chunk32(seq, ChunkI32.FRAMES)];
    const captureNs = c64[this.v.chunk64(seq, ChunkI64.CAPTURE_NS)];
    const receiveNs = c64[this.v.chunk64(seq, ChunkI64.RECEIVE_NS)];
    const flags = c32[this.v.chunk32(seq, ChunkI32.FLAGS)];
    // Seqlock check, then the samples: the record changed under us, or the writer lapped the samples.
    if (sSeq !== seq || Atomics.load(c64, this.v.chunk64(seq, ChunkI64.SEQ)) !== seq || startFrame < this.v.validFrom()) return null;
    const pos = Number(startFrame % BigInt(g.capacityFrames));
    const data = this.v.samples.subarray(pos * this.v.channels, (pos + frames) * this.v.channels) as SampleArray;
    const v = this.v;
    return { seq, startFrame, frames, captureNs, receiveNs, flags, data, valid: () => startFrame >= v.validFrom() };
  }

  skipToHead(): void {
    this.cursor = this.v.chunksWritten();
  }

  /** No-op: sample readers hold no leases (views are validated instead). Here so every reader can be released alike. */
  release(): void {}

  private lostFramesOf(seq: bigint): number {
    if (Atomics.load(this.v.c64, this.v.chunk64(seq, ChunkI64.SEQ)) === seq) return this.v.c32[this.v.chunk32(seq, ChunkI32.FRAMES)];
    // The chunk's own record is gone; its frames lie between the neighbours' starts.
    const nextStart = this.v.c64[this.v.chunk64(seq + 1n, ChunkI64.START_FRAME)];
    const prevSeq = this.v.c64[this.v.chunk64(seq - 1n, ChunkI64.SEQ)];
    if (prevSeq === seq - 1n) {
      const prevEnd = this.v.c64[this.v.chunk64(seq - 1n, ChunkI64.START_FRAME)] + BigInt(this.v.c32[this.v.chunk32(seq - 1n, ChunkI32.FRAMES)]);
      if (nextStart > prevEnd) return Number(nextStart - prevEnd);
    }
    return 0;
  }

  private alloc(len: number): SampleArray {
    const Ctor = this.v.samples.constructor as new (n: number) => SampleArray;
    return new Ctor(len);
  }

  /** Copies frames [start, start + frames) out, unverified (the caller checks `validFrom()` afterwards). */
  protected copyOut(start: bigint, frames: number, out: SampleArray): void {
    const { g, channels, samples } = this.v;
    const pos = Number(start % BigInt(g.capacityFrames));
    const first = Math.min(frames, g.capacityFrames - pos);
    out.set(samples.subarray(pos * channels, (pos + first) * channels), 0);
    if (first < frames) out.set(samples.subarray(0, (frames - first) * channels), first * channels);
  }
}
