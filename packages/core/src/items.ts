/**
 * Items as the main-thread API presents them. Every item carries `seq`, `captureNs` (CLOCK_MONOTONIC ns
 * at capture) and `receiveNs` (when the source got it), and its payload as a zero-copy view over the ring.
 *
 * `copy()` is verified after copying (a view the writer overwrote meanwhile throws {@link OverrunError},
 * never returns torn bytes), and a copy's `copy()` copies the copy: it never reads the ring again.
 * Items are class instances (methods on the prototype: no closures per item on the data path).
 */
import type { RecordsSpec } from './contract/v1/index.js';
import { OverrunError } from './errors.js';
import { formatName } from './formats.js';
import type { FrameView } from './ring/frame-ring.js';
import type { SampleFormat } from './ring/layout.js';
import type { SampleArray, SampleChunkView } from './ring/sample-ring.js';

interface ItemBase {
  seq: bigint;
  captureNs: bigint;
  receiveNs: bigint;
  /** {@link ItemFlags} bits: DISCONTINUITY (something was lost right before), TIMESTAMP_FALLBACK, KEY. */
  flags: number;
}

export interface VideoFrame extends ItemBase {
  kind: 'video';
  /** Pixels (or JPEG bytes): a view over the ring, valid during the callback (frames$) or until the next latest(). */
  data: Uint8Array;
  width: number;
  height: number;
  /** Bytes per row (0 for compressed formats). */
  stride: number;
  pixelFormat: string;
  /** A detached copy that stays valid forever (verified after copying; throws OverrunError if the view was overwritten). */
  copy(): VideoFrame;
}

export interface AudioChunk extends ItemBase {
  kind: 'audio';
  /** Frame index of the first sample (frames written since the stream began). */
  startFrame: bigint;
  frames: number;
  channels: number;
  rate: number;
  format: SampleFormat;
  /** Interleaved samples: a view over the ring, valid while `valid()` (the ring holds seconds). */
  data: SampleArray;
  valid(): boolean;
  /** A detached copy (verified after copying; throws OverrunError if the writer lapped the view). */
  copy(): AudioChunk;
}

export interface RecordItem extends ItemBase {
  kind: 'records';
  /** One value per field, in `fields` order: a view over the ring, valid during the callback. */
  values: Float64Array;
  fields: readonly string[];
  get(name: string): number;
  toObject(): Record<string, number>;
  /** A detached copy (verified after copying; throws OverrunError if the view was overwritten). */
  copy(): RecordItem;
}

export type SourceItem = VideoFrame | AudioChunk | RecordItem;

/** Tells whether a frame view's bytes are still its own (FrameRingReader.intact); null for detached copies. */
export type FrameCheck = ((v: FrameView) => boolean) | null;

const overrun = (what: string, seq: bigint) =>
  new OverrunError(`the ring's writer overwrote ${what} seq ${seq} before it was copied: copy() inside the callback (or right after latest()) to keep it`, {
    seq: String(seq),
  });

class VideoFrameItem implements VideoFrame {
  readonly kind = 'video' as const;
  seq: bigint;
  captureNs: bigint;
  receiveNs: bigint;
  flags: number;
  data: Uint8Array;
  width: number;
  height: number;
  stride: number;
  pixelFormat: string;
  constructor(
    v: Omit<FrameView, 'format' | 'byteLength' | 'slot'> & { pixelFormat: string },
    private readonly view: FrameView | null,
    private readonly check: FrameCheck,
  ) {
    this.seq = v.seq;
    this.captureNs = v.captureNs;
    this.receiveNs = v.receiveNs;
    this.flags = v.flags;
    this.data = v.data;
    this.width = v.width;
    this.height = v.height;
    this.stride = v.stride;
    this.pixelFormat = v.pixelFormat;
  }
  copy(): VideoFrame {
    const data = this.data.slice();
    if (this.view && this.check && !this.check(this.view)) throw overrun('video frame', this.seq);
    return new VideoFrameItem({ ...this, data }, null, null);
  }
}

export function videoFrame(v: FrameView, check: FrameCheck = null): VideoFrame {
  return new VideoFrameItem({ ...v, pixelFormat: formatName(v.format) }, v, check);
}

/** Per-stream record metadata, made once per Source. */
export interface RecordShape {
  fieldCount: number;
  names: readonly string[];
  index: ReadonlyMap<string, number>;
}

export function recordShape(spec: RecordsSpec): RecordShape {
  const names = spec.fields.map((f) => f.name);
  return { fieldCount: names.length, names, index: new Map(names.map((n, i) => [n, i])) };
}

class RecordItemImpl implements RecordItem {
  readonly kind = 'records' as const;
  constructor(
    readonly seq: bigint,
    readonly captureNs: bigint,
    readonly receiveNs: bigint,
    readonly flags: number,
    readonly values: Float64Array,
    private readonly shape: RecordShape,
    private readonly view: FrameView | null,
    private readonly check: FrameCheck,
  ) {}
  get fields(): readonly string[] {
    return this.shape.names;
  }
  get(name: string): number {
    const i = this.shape.index.get(name);
    return i === undefined ? Number.NaN : this.values[i];
  }
  toObject(): Record<string, number> {
    const o: Record<string, number> = {};
    for (let i = 0; i < this.shape.names.length; i++) o[this.shape.names[i]] = this.values[i];
    return o;
  }
  copy(): RecordItem {
    const values = this.values.slice();
    if (this.view && this.check && !this.check(this.view)) throw overrun('record', this.seq);
    return new RecordItemImpl(this.seq, this.captureNs, this.receiveNs, this.flags, values, this.shape, null, null);
  }
}

export function recordItem(v: FrameView, shape: RecordShape, check: FrameCheck = null): RecordItem {
  const values = new Float64Array(v.data.buffer, v.data.byteOffset, shape.fieldCount);
  return new RecordItemImpl(v.seq, v.captureNs, v.receiveNs, v.flags, values, shape, v, check);
}

const always = () => true;

class AudioChunkItem implements AudioChunk {
  readonly kind = 'audio' as const;
  constructor(
    readonly seq: bigint,
    readonly captureNs: bigint,
    readonly receiveNs: bigint,
    readonly flags: number,
    readonly startFrame: bigint,
    readonly frames: number,
    readonly channels: number,
    readonly rate: number,
    readonly format: SampleFormat,
    readonly data: SampleArray,
    readonly valid: () => boolean,
  ) {}
  copy(): AudioChunk {
    const data = this.data.slice() as SampleArray;
    if (!this.valid()) throw overrun('audio chunk', this.seq);
    return new AudioChunkItem(this.seq, this.captureNs, this.receiveNs, this.flags, this.startFrame, this.frames, this.channels, this.rate, this.format, data, always);
  }
}

export function audioChunk(c: SampleChunkView, channels: number, rate: number, format: SampleFormat): AudioChunk {
  return new AudioChunkItem(c.seq, c.captureNs, c.receiveNs, c.flags, c.startFrame, c.frames, channels, rate, format, c.data, c.valid);
}
