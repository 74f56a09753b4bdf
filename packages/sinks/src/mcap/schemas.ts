/**
 * How senseflow streams look in the robotics field's tools: one MCAP / Foxglove channel per stream with a
 * Foxglove schema (video → foxglove.CompressedImage or foxglove.RawImage, audio → foxglove.RawAudio, both
 * protobuf), records as JSON with a JSON schema made from the stream's field spec, and two JSON side
 * channels per stream for the drop ledger and the source's events. The MCAP writer and the Foxglove
 * WebSocket server both build their channels and messages here, so a recording and a live view match.
 */
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { foxgloveMessageSchemas, generateProto } from '@foxglove/schemas/internal.js';
import { protobufToDescriptor } from '@mcap/support';
import { UnsupportedFormatError, type AudioSpec, type RecordsSpec, type SampleFormat, type StreamSpec, type VideoSpec } from '@senseflow/core';

/** A channel as MCAP and the Foxglove WebSocket protocol both describe it. */
export interface ChannelDef {
  topic: string;
  /** `protobuf` or `json`. */
  messageEncoding: 'protobuf' | 'json';
  schemaName: string;
  /** `protobuf` (binary FileDescriptorSet) or `jsonschema`. */
  schemaEncoding: 'protobuf' | 'jsonschema';
  schemaData: Uint8Array;
  /** What the channel carries: the stream's items, its drop ledger, or its events. */
  role: 'data' | 'drops' | 'events';
  stream: string;
  metadata: Record<string, string>;
}

const enc = new TextEncoder();

/** JPEG-family formats stored as captured (never re-encoded). */
export const isJpegFormat = (f: string): boolean => f === 'mjpeg' || f === 'jpeg';

/** senseflow pixel format → foxglove.RawImage `encoding`. */
export const RAW_IMAGE_ENCODINGS: Record<string, string> = {
  yuyv: 'yuyv',
  uyvy: 'uyvy',
  nv12: 'nv12',
  gray8: 'mono8',
  grey: 'mono8',
  rgb24: 'rgb8',
  bgr24: 'bgr8',
  rgba: 'rgba8',
};
/** And back, for replaying RawImage files written by other tools. */
export const PIXEL_FORMAT_OF_ENCODING: Record<string, string> = {
  yuyv: 'yuyv',
  yuv422_yuy2: 'yuyv',
  uyvy: 'uyvy',
  yuv422: 'uyvy',
  nv12: 'nv12',
  mono8: 'gray8',
  '8UC1': 'gray8',
  rgb8: 'rgb24',
  bgr8: 'bgr24',
  '8UC3': 'bgr24',
  rgba8: 'rgba',
};

// ---- protobuf schemas (Foxglove's own definitions, from @foxglove/schemas) -------------------------

const protoTypes = new Map<string, { type: protobuf.Type; descriptor: Uint8Array }>();

/** The protobuf type and binary FileDescriptorSet of a Foxglove message (`CompressedImage`, `RawAudio`, …). */
export function foxgloveProto(name: 'CompressedImage' | 'RawImage' | 'RawAudio'): { type: protobuf.Type; descriptor: Uint8Array } {
  let t = protoTypes.get(name);
  if (!t) {
    const root = new protobuf.Root();
    protobuf.parse(generateProto(foxgloveMessageSchemas[name], []), root, { keepCase: true });
    const ts = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/timestamp.proto') as protobuf.INamespace);
    root.add(ts.lookup('google')!);
    root.resolveAll();
    const set = protobufToDescriptor(root);
    t = { type: root.lookupType(`foxglove.${name}`), descriptor: descriptor.FileDescriptorSet.encode(set).finish() };
    protoTypes.set(name, t);
  }
  return t;
}

/** CLOCK_MONOTONIC ns → google.protobuf.Timestamp. */
export const protoTime = (ns: bigint) => ({ seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) });

// ---- JSON schemas -----------------------------------------------------------------------------------

const json = (o: unknown) => enc.encode(JSON.stringify(o));

/** A JSON schema for a records stream: one number (or null when not available) per field, with unit and description. */
export function recordsJsonSchema(name: string, spec: RecordsSpec): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    seq: { type: 'integer', description: 'senseflow sequence number of the record' },
    captureNs: { type: 'string', description: 'capture time, CLOCK_MONOTONIC nanoseconds (decimal)' },
  };
  for (const f of spec.fields)
    properties[f.name] = { type: ['number', 'null'], description: `${f.description ? `${f.description} ` : ''}[${f.unit}]`.trim(), unit: f.unit };
  return { title: `senseflow.records.${name}`, description: spec.description ?? `records of ${name}`, type: 'object', properties, required: ['seq'] };
}

const DROPS_SCHEMA = {
  title: 'senseflow.Drop',
  description: 'Loss counted for a stream (one message whenever a count moved), or a note such as filled-in silence',
  type: 'object',
  properties: {
    atNs: { type: 'string', description: 'when the loss was seen, CLOCK_MONOTONIC ns (decimal)' },
    cause: { type: 'string', description: 'driver, ringFull, disconnect, restart, overwritten, network, io, torn, format' },
    count: { type: 'integer', description: 'items (audio: sample frames) lost since the previous message of this cause' },
    total: { type: 'integer', description: 'items lost to this cause since the recording began' },
    afterSeq: { type: ['string', 'null'], description: 'seq of the last item stored before the loss was seen' },
  },
};

const EVENTS_SCHEMA = {
  title: 'senseflow.SourceEvent',
  description: 'A lifecycle or device event of the source (started, stopped, disconnected, reconnected, error, crashed, restarted, custom)',
  type: 'object',
  properties: {
    type: { type: 'string' },
    atNs: { type: 'string', description: 'CLOCK_MONOTONIC ns (decimal)' },
  },
  required: ['type', 'atNs'],
};

// ---- channels per stream ----------------------------------------------------------------------------

/** The channels of one stream: `/NAME` (data), `/NAME/drops`, `/NAME/events`. */
export function channelsFor(name: string, spec: StreamSpec): ChannelDef[] {
  const base = { stream: name, metadata: { 'senseflow.kind': spec.kind, 'senseflow.spec': JSON.stringify(spec) } };
  const side = (role: 'drops' | 'events', schema: Record<string, unknown>): ChannelDef => ({
    ...base,
    topic: `/${name}/${role}`,
    role,
    messageEncoding: 'json',
    schemaName: schema.title as string,
    schemaEncoding: 'jsonschema',
    schemaData: json(schema),
  });
  return [dataChannel(name, spec, base), side('drops', DROPS_SCHEMA), side('events', EVENTS_SCHEMA)];
}

function dataChannel(name: string, spec: StreamSpec, base: Pick<ChannelDef, 'stream' | 'metadata'>): ChannelDef {
  const topic = `/${name}`;
  if (spec.kind === 'records') {
    const schema = recordsJsonSchema(name, spec);
    return { ...base, topic, role: 'data', messageEncoding: 'json', schemaName: schema.title as string, schemaEncoding: 'jsonschema', schemaData: json(schema) };
  }
  const which = spec.kind === 'audio' ? 'RawAudio' : isJpegFormat(spec.pixelFormat) ? 'CompressedImage' : 'RawImage';
  if (which === 'RawImage') rawImageEncoding(spec as VideoSpec);
  return { ...base, topic, role: 'data', messageEncoding: 'protobuf', schemaName: `foxglove.${which}`, schemaEncoding: 'protobuf', schemaData: foxgloveProto(which).descriptor };
}

/** The foxglove.RawImage encoding of a raw pixel format, or a typed error naming the ones Foxglove shows. */
export function rawImageEncoding(spec: VideoSpec): string {
  const e = RAW_IMAGE_ENCODINGS[spec.pixelFormat];
  if (!e)
    throw new UnsupportedFormatError(
      `pixel format '${spec.pixelFormat}' has no foxglove.RawImage encoding: expected one of mjpeg, jpeg, ${Object.keys(RAW_IMAGE_ENCODINGS).join(', ')} for \`pixelFormat\``,
      { pixelFormat: spec.pixelFormat, valid: ['mjpeg', 'jpeg', ...Object.keys(RAW_IMAGE_ENCODINGS)] },
    );
  return e;
}

// ---- messages ---------------------------------------------------------------------------------------

/** Builds the data messages of one stream (one encoder per stream; reuses nothing that outlives a call). */
export class MessageEncoder {
  private readonly s16: Int16Array | null;
  private readonly names: string[];
  private readonly rawEncoding: string;

  constructor(private readonly name: string, private readonly spec: StreamSpec) {
    this.names = spec.kind === 'records' ? spec.fields.map((f) => f.name) : [];
    this.rawEncoding = spec.kind === 'video' && !isJpegFormat(spec.pixelFormat) ? rawImageEncoding(spec) : '';
    this.s16 = spec.kind === 'audio' && spec.format !== 's16le' ? new Int16Array(Math.max(spec.periodFrames, 4096) * spec.channels) : null;
  }

  /** A video frame: CompressedImage (JPEG bytes as captured) or RawImage. */
  video(data: Uint8Array, captureNs: bigint, width: number, height: number, stride: number): Uint8Array {
    const timestamp = protoTime(captureNs);
    if (!this.rawEncoding) return foxgloveProto('CompressedImage').type.encode({ timestamp, frame_id: this.name, data, format: 'jpeg' }).finish();
    const step = stride || Math.round(data.byteLength / Math.max(1, height));
    return foxgloveProto('RawImage').type.encode({ timestamp, frame_id: this.name, width, height, encoding: this.rawEncoding, step, data }).finish();
  }

  /** An audio chunk as RawAudio (`pcm-s16`, the format Foxglove plays; 32-bit formats are scaled to 16 bits). */
  audio(samples: Int16Array | Int32Array | Float32Array, captureNs: bigint): Uint8Array {
    const spec = this.spec as AudioSpec;
    const data = toS16(samples, spec.format, this.s16);
    return foxgloveProto('RawAudio')
      .type.encode({
        timestamp: protoTime(captureNs),
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        format: 'pcm-s16',
        sample_rate: spec.rate,
        number_of_channels: spec.channels,
      })
      .finish();
  }

  /** A record as JSON: `{ seq, captureNs, <field>: value | null }`. */
  record(values: Float64Array, seq: bigint, captureNs: bigint): Uint8Array {
    const o: Record<string, string | number | null> = { seq: Number(seq), captureNs: String(captureNs) };
    for (let i = 0; i < this.names.length; i++) o[this.names[i]] = Number.isFinite(values[i]) ? values[i] : null;
    return json(o);
  }
}

/** JSON messages of the side channels. */
export const jsonMessage = (o: Record<string, unknown>): Uint8Array => json(o);

function toS16(samples: Int16Array | Int32Array | Float32Array, format: SampleFormat, scratch: Int16Array | null): Int16Array {
  if (format === 's16le') return samples as Int16Array;
  const out = scratch && scratch.length >= samples.length ? scratch.subarray(0, samples.length) : new Int16Array(samples.length);
  if (format === 's32le') for (let i = 0; i < samples.length; i++) out[i] = samples[i] >> 16;
  else
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i] * 32768;
      out[i] = v >= 32767 ? 32767 : v <= -32768 ? -32768 : v;
    }
  return out;
}
