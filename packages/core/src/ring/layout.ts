/**
 * The SharedArrayBuffer layout of senseflow rings. This module is a protocol: every index a writer or a
 * reader touches is named here and nowhere else. Bump {@link RING_VERSION} on any change.
 *
 * Two kinds of ring share one header shape:
 *
 * Frame ring (video, records) — N slots of fixed capacity:
 * ```
 * [0, HEADER_BYTES)          header: Int32 fields (I32.*) then BigInt64 fields (I64.*)
 * [seqTableOffset, …)        Int32[N]: slot index of seq s lives at (s mod N)
 * [metaOffset, …)            N × SLOT_META_BYTES per-slot metadata (SlotI64.* / SlotI32.*)
 * [dataOffset, …)            N × slotCapacity payload bytes (each slot 64-byte aligned)
 * ```
 * Sample ring (audio) — one continuous interleaved buffer plus a table of chunks:
 * ```
 * [0, HEADER_BYTES)          header
 * [chunkOffset, …)           K × CHUNK_BYTES chunk records (ChunkI64.* / ChunkI32.*)
 * [dataOffset, …)            capacityFrames × bytesPerFrame samples
 * ```
 */

export const RING_MAGIC = 0x53464c57; // 'SFLW'
/**
 * 2: DROP_NETWORK added; an aborted frame-ring write invalidates its slot (SEQ = -1).
 * 3: BATCH and BATCH_GAP_US added (writer-paced batch wake-ups).
 * 4: WAITERS added (a native writer skips the wake-up when no reader sleeps).
 */
export const RING_VERSION = 4;
export const HEADER_BYTES = 256;

export const RingKind = { frame: 1, sample: 2 } as const;

/** Int32 header fields (index into an Int32Array over the whole buffer). */
export const I32 = {
  MAGIC: 0,
  VERSION: 1,
  KIND: 2,
  /** Frame ring: slot count N. Sample ring: chunk table size K. */
  COUNT: 3,
  /** Frame ring: bytes per slot. Sample ring: bytes per frame (all channels). */
  UNIT_BYTES: 4,
  /** Incremented (then Atomics.notify'd) after every commit and every state change: readers wait on it. */
  NOTIFY: 5,
  /** One of {@link RingState}. */
  STATE: 6,
  /** Writer-private hint: the slot to try first on the next begin(). */
  NEXT_SLOT: 7,
  /** Sample ring: channels. */
  CHANNELS: 8,
  /** Sample ring: sample rate in Hz. */
  RATE: 9,
  /** Sample ring: sample format code ({@link SampleFormatCode}). */
  SAMPLE_FORMAT: 10,
  /** Sample ring: capacity in frames (one frame = one sample per channel). */
  CAPACITY_FRAMES: 11,
  /**
   * Incremented (then Atomics.notify'd) once per batch: after a commit, unless the stream is fast and the
   * previous batch wake-up is less than BATCH_GAP_US old (the next commit then wakes for both), and after
   * every state change. Readers that batch wait on it: they wake right after a commit, once per batch.
   */
  BATCH: 12,
  /**
   * How long (µs) the writer may hold a BATCH wake-up back while the stream is fast; set when the ring is
   * created ({@link DEFAULT_BATCH_GAP_US}). 0: BATCH follows every commit.
   */
  BATCH_GAP_US: 13,
  /**
   * 1 while the writer is in a run of fast commits and may hold BATCH wake-ups back, else 0. It changes only
   * on a commit that also bumps BATCH, so a reader that saw 0 before waiting is woken if it turns 1.
   */
  BATCH_HOLDING: 14,
  /**
   * Readers asleep (or about to sleep) on NOTIFY or BATCH. A reader adds 1, checks for items once more, then
   * sleeps, and subtracts 1 when it wakes. A writer that commits outside JavaScript (a native capture loop,
   * native/sample-ring.h) cannot call Atomics.notify: after its commits it reads this word, and only when it is
   * non-zero hands back to JavaScript to wake them. Commit-then-read against add-then-check means a reader
   * never sleeps through a commit it did not see.
   */
  WAITERS: 15,
} as const;

/**
 * The batch gap of new rings: a stream committing faster than every 1.5 ms (a 1 kHz sensor, 64-frame audio
 * periods) wakes its batching readers every second commit or so, right after it, the older item ~1 ms old.
 */
export const DEFAULT_BATCH_GAP_US = 1500;

/** BigInt64 header fields (index into a BigInt64Array over the whole buffer). Start at byte 128. */
export const I64 = {
  /** Frame ring: items committed (= next seq). Sample ring: chunks committed (= next chunk seq). */
  WRITE_SEQ: 16,
  /** Sample ring: frames committed. */
  FRAMES_WRITTEN: 17,
  /** Sample ring: frames committed plus frames reserved by a write in progress (the overwrite frontier). */
  FRAMES_RESERVED: 18,
  /** Writer-side loss counters; see {@link WriterDropCause}. Audio counts frames, video/records count items. */
  DROP_DRIVER: 19,
  DROP_RING_FULL: 20,
  DROP_DISCONNECT: 21,
  DROP_RESTART: 22,
  /** Number of discontinuities (gaps) recorded. */
  GAPS: 23,
  /** Frame ring: the latest seq range [SKIP_FROM, SKIP_TO) the writer skipped (skipTo): never written, never "overwritten". */
  SKIP_FROM: 24,
  SKIP_TO: 25,
  DROP_NETWORK: 26,
} as const;

/** Causes of loss counted by the writer (shared by every reader). */
export const WriterDropCause = {
  /** The device or driver lost data before the source saw it (V4L2 sequence gap, ALSA xrun). */
  driver: I64.DROP_DRIVER,
  /** Every slot was leased by readers, so the writer dropped the item instead of waiting. */
  ringFull: I64.DROP_RING_FULL,
  /** Items lost while the device was gone. */
  disconnect: I64.DROP_DISCONNECT,
  /** Items lost while a crashed worker was restarted. */
  restart: I64.DROP_RESTART,
  /** Items a relayed stream (network, NATS) lost in transit or while reconnecting. */
  network: I64.DROP_NETWORK,
} as const;
export type WriterDropCauseName = keyof typeof WriterDropCause;

/** Loss counted per reader, plus the writer's causes. */
export type DropCause = WriterDropCauseName | 'overwritten';

export const RingState = { opening: 0, running: 1, stopped: 2, closed: 3, error: 4 } as const;

/** Per-item flags (bit mask). */
export const ItemFlags = {
  /** The item follows a gap: something was lost right before it. */
  DISCONTINUITY: 1,
  /** The capture time came from the receive clock, not the driver (the driver's stamp was missing or insane). */
  TIMESTAMP_FALLBACK: 2,
  /** The payload is a key frame / complete image (MJPEG always). */
  KEY: 4,
} as const;

// ---- frame ring ---------------------------------------------------------------------------------

export const SLOT_META_BYTES = 64;
/** BigInt64 slot fields: index = (metaByteOffset / 8) + field. */
export const SlotI64 = { SEQ: 0, CAPTURE_NS: 1, RECEIVE_NS: 2 } as const;
/** Int32 slot fields: index = (metaByteOffset / 4) + field. */
export const SlotI32 = {
  BYTE_LENGTH: 6,
  WIDTH: 7,
  HEIGHT: 8,
  STRIDE: 9,
  FORMAT: 10,
  FLAGS: 11,
  /**
   * Lease word. 0 = free; n > 0 = held by n readers; -1 = being written. The writer claims a slot with
   * compareExchange(0 → -1) and skips slots readers hold, so it never waits and a held view never tears.
   */
  LEASE: 12,
} as const;

export interface FrameRingGeometry {
  slots: number;
  slotBytes: number;
  seqTableOffset: number;
  metaOffset: number;
  dataOffset: number;
  slotStride: number;
  totalBytes: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

export function frameRingGeometry(slots: number, slotBytes: number): FrameRingGeometry {
  const seqTableOffset = HEADER_BYTES;
  const metaOffset = align(seqTableOffset + slots * 4, 64);
  const dataOffset = align(metaOffset + slots * SLOT_META_BYTES, 64);
  const slotStride = align(Math.max(slotBytes, 1), 64);
  return { slots, slotBytes, seqTableOffset, metaOffset, dataOffset, slotStride, totalBytes: dataOffset + slots * slotStride };
}

// ---- sample ring --------------------------------------------------------------------------------

export const CHUNK_BYTES = 48;
/** BigInt64 chunk fields: index = (chunkByteOffset / 8) + field. */
export const ChunkI64 = { SEQ: 0, START_FRAME: 1, CAPTURE_NS: 2, RECEIVE_NS: 3 } as const;
/** Int32 chunk fields: index = (chunkByteOffset / 4) + field. */
export const ChunkI32 = { FRAMES: 8, FLAGS: 9 } as const;

export interface SampleRingGeometry {
  chunks: number;
  capacityFrames: number;
  bytesPerFrame: number;
  chunkOffset: number;
  dataOffset: number;
  totalBytes: number;
}

export function sampleRingGeometry(chunks: number, capacityFrames: number, bytesPerFrame: number): SampleRingGeometry {
  const chunkOffset = HEADER_BYTES;
  const dataOffset = align(chunkOffset + chunks * CHUNK_BYTES, 64);
  return { chunks, capacityFrames, bytesPerFrame, chunkOffset, dataOffset, totalBytes: dataOffset + capacityFrames * bytesPerFrame };
}

/** Sample formats in the sample ring (interleaved, little-endian). */
export const SampleFormatCode = { s16le: 1, s32le: 2, f32le: 3 } as const;
export type SampleFormat = keyof typeof SampleFormatCode;
export const SAMPLE_FORMATS = Object.keys(SampleFormatCode) as SampleFormat[];
export const bytesPerSample = (f: SampleFormat): number => (f === 's16le' ? 2 : 4);
export function sampleFormatName(code: number): SampleFormat {
  const name = SAMPLE_FORMATS.find((f) => SampleFormatCode[f] === code);
  if (!name) throw new RangeError(`unknown sample format code ${code}`);
  return name;
}
