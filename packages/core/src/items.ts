/**
 * Items as the main-thread API presents them. Every item carries `seq`, `captureNs` (CLOCK_MONOTONIC ns
 * at capture) and `receiveNs` (when the source got it), and its payload as a zero-copy view over the ring.
 */
import type { RecordsSpec } from './contract/v1/index.js';
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
  /** A detached copy that stays valid forever. */
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
  copy(): AudioChunk;
}

export interface RecordItem extends ItemBase {
  kind: 'records';
  /** One value per field, in `fields` order: a view over the ring, valid during the callback. */
  values: Float64Array;
  fields: readonly string[];
  get(name: string): number;
  toObject(): Record<string, number>;
  copy(): RecordItem;
}

export type SourceItem = VideoFrame | AudioChunk | RecordItem;

export function videoFrame(v: FrameView): VideoFrame {
  const item: VideoFrame = {
    kind: 'video',
    seq: v.seq,
    captureNs: v.captureNs,
    receiveNs: v.receiveNs,
    flags: v.flags,
    data: v.data,
    width: v.width,
    height: v.height,
    stride: v.stride,
    pixelFormat: formatName(v.format),
    copy: () => ({ ...item, data: v.data.slice(), copy: () => item.copy() }),
  };
  return item;
}

export function recordItem(v: FrameView, spec: RecordsSpec, index: ReadonlyMap<string, number>, names: readonly string[]): RecordItem {
  const values = new Float64Array(v.data.buffer, v.data.byteOffset, spec.fields.length);
  const make = (vals: Float64Array): RecordItem => ({
    kind: 'records',
    seq: v.seq,
    captureNs: v.captureNs,
    receiveNs: v.receiveNs,
    flags: v.flags,
    values: vals,
    fields: names,
    get: (name) => {
      const i = index.get(name);
      return i === undefined ? Number.NaN : vals[i];
    },
    toObject: () => Object.fromEntries(names.map((n, i) => [n, vals[i]])),
    copy: () => make(vals.slice()),
  });
  return make(values);
}

export function audioChunk(c: SampleChunkView, channels: number, rate: number, format: SampleFormat): AudioChunk {
  const make = (data: SampleArray, valid: () => boolean): AudioChunk => ({
    kind: 'audio',
    seq: c.seq,
    captureNs: c.captureNs,
    receiveNs: c.receiveNs,
    flags: c.flags,
    startFrame: c.startFrame,
    frames: c.frames,
    channels,
    rate,
    format,
    data,
    valid,
    copy: () => make(data.slice() as SampleArray, () => true),
  });
  return make(c.data, c.valid);
}
