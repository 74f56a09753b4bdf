/**
 * The MCAP replay source plugin: runs in its source's worker, reads one channel of an MCAP file and writes
 * its messages into the ring with their original seq (the MCAP sequence, when the file has one) and
 * capture times (log time; publish time as receive time), paced like the original or as fast as it reads.
 * Opened through {@link openMcap} (one source per channel) or `openSource('@senseflow/sinks/mcap-source', …)`.
 */
import { protobufFromBinaryDescriptor } from '@mcap/support';
import {
  defineSource,
  DeviceNotFoundError,
  formatCode,
  InvalidOptionError,
  ItemFlags,
  UnsupportedFormatError,
  type FrameSourceContext,
  type RecordsSpec,
  type SampleSourceContext,
  type StreamSpec,
} from '@senseflow/core';
import { readMcapInfo, readMcapMessages, type McapChannelInfo, type McapMessage } from './read.js';
import { PIXEL_FORMAT_OF_ENCODING } from './schemas.js';

export interface McapReplayOptions {
  /** The MCAP file. */
  file: string;
  /** The channel's topic, e.g. `/video`. */
  topic: string;
  /** `realtime` (default): messages at their original spacing; `fast`: as fast as the file reads (slow readers lose items, counted). */
  pace?: 'realtime' | 'fast';
  /** Start over at the end (each pass continues seq and capture times after the previous one). Default false. */
  loop?: boolean;
  /** `original` (default): capture times as recorded; `now`: shifted so the first message is captured when the replay starts. */
  time?: 'original' | 'now';
  /** Shared start instant (BigInt64Array over 8 bytes) so the channels of one file stay aligned; set by the first to start. */
  t0?: SharedArrayBuffer;
  /** The file's first log time (decimal ns), the origin of pacing for every channel. */
  fileStartNs?: string;
}

type Parsed = Required<Omit<McapReplayOptions, 't0' | 'fileStartNs'>> & { t0: SharedArrayBuffer; fileStartNs: bigint | null };

function parse(raw: unknown): Parsed {
  const o = (raw ?? {}) as McapReplayOptions;
  if (typeof o.file !== 'string' || !o.file) throw new InvalidOptionError('file', 'an MCAP file path', o.file);
  if (typeof o.topic !== 'string' || !o.topic) throw new InvalidOptionError('topic', 'a channel topic, e.g. /video', o.topic);
  const pace = o.pace ?? 'realtime';
  if (pace !== 'realtime' && pace !== 'fast') throw new InvalidOptionError('pace', "one of 'realtime', 'fast'", o.pace);
  const time = o.time ?? 'original';
  if (time !== 'original' && time !== 'now') throw new InvalidOptionError('time', "one of 'original', 'now'", o.time);
  if (o.loop !== undefined && typeof o.loop !== 'boolean') throw new InvalidOptionError('loop', 'a boolean', o.loop);
  return {
    file: o.file,
    topic: o.topic,
    pace,
    time,
    loop: o.loop ?? false,
    t0: o.t0 instanceof SharedArrayBuffer ? o.t0 : new SharedArrayBuffer(8),
    fileStartNs: o.fileStartNs ? BigInt(o.fileStartNs) : null,
  };
}

// ---- decoding ---------------------------------------------------------------------------------------

type Decoded = Record<string, unknown> & { data?: Uint8Array };

/** Decodes a message of a Foxglove image/audio schema, protobuf or JSON (base64 `data`). */
function decoderFor(ch: McapChannelInfo): (m: McapMessage) => Decoded {
  const name = ch.schema?.name ?? '';
  if (ch.messageEncoding === 'protobuf' && ch.schema?.encoding === 'protobuf') {
    const type = protobufFromBinaryDescriptor(ch.schema.data).lookupType(name);
    return (m) => type.toObject(type.decode(m.data), { longs: Number }) as Decoded;
  }
  if (ch.messageEncoding === 'json') {
    const text = new TextDecoder();
    return (m) => {
      const o = JSON.parse(text.decode(m.data)) as Decoded;
      if (typeof o.data === 'string') o.data = Buffer.from(o.data, 'base64');
      return o;
    };
  }
  throw new UnsupportedFormatError(`channel ${ch.topic}: message encoding '${ch.messageEncoding}' is not supported for replay: expected one of protobuf, json`, {
    topic: ch.topic,
    valid: ['protobuf', 'json'],
  });
}

/** Width and height from a JPEG's start-of-frame marker. */
function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    const len = (b[i + 2] << 8) | b[i + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: (b[i + 5] << 8) | b[i + 6], width: (b[i + 7] << 8) | b[i + 8] };
    i += 2 + len;
  }
  return null;
}

const KNOWN = ['foxglove.CompressedImage', 'foxglove.RawImage', 'foxglove.RawAudio', 'JSON records (senseflow.records.* or any JSON object of numbers)'];

/** The stream spec of a channel: senseflow's own from the channel metadata, others' from the first message. */
function specOf(ch: McapChannelInfo, first: McapMessage | null, count: number): StreamSpec {
  const own = ch.metadata.get('senseflow.spec');
  const description = `[mcap] ${ch.topic}`;
  if (own) return { ...(JSON.parse(own) as StreamSpec), description };
  if (!first) throw new DeviceNotFoundError(`channel ${ch.topic} has no messages`, { topic: ch.topic });
  const name = ch.schema?.name ?? '';
  if (name === 'foxglove.CompressedImage' || name === 'foxglove.RawImage') {
    const m = decoderFor(ch)(first);
    const data = m.data ?? new Uint8Array();
    const slotBytes = Math.max(1 << 20, data.byteLength * 2);
    if (name === 'foxglove.CompressedImage') {
      if (m.format !== 'jpeg') throw new UnsupportedFormatError(`channel ${ch.topic}: CompressedImage format '${m.format}' is not supported: expected jpeg`, { topic: ch.topic });
      const size = jpegSize(data) ?? { width: 0, height: 0 };
      return { kind: 'video', ...size, pixelFormat: 'mjpeg', stride: 0, fps: 30, ring: { slots: 16, slotBytes }, description };
    }
    const pixelFormat = PIXEL_FORMAT_OF_ENCODING[String(m.encoding)];
    if (!pixelFormat)
      throw new UnsupportedFormatError(`channel ${ch.topic}: RawImage encoding '${m.encoding}' is not supported: expected one of ${Object.keys(PIXEL_FORMAT_OF_ENCODING).join(', ')}`, { topic: ch.topic });
    return { kind: 'video', width: Number(m.width), height: Number(m.height), pixelFormat, stride: Number(m.step), fps: 30, ring: { slots: 8, slotBytes: Math.max(data.byteLength, 1) }, description };
  }
  if (name === 'foxglove.RawAudio') {
    const m = decoderFor(ch)(first);
    if (m.format !== 'pcm-s16') throw new UnsupportedFormatError(`channel ${ch.topic}: RawAudio format '${m.format}' is not supported: expected pcm-s16`, { topic: ch.topic });
    const rate = Number(m.sample_rate);
    const channels = Number(m.number_of_channels);
    const periodFrames = Math.max(1, Math.floor((m.data?.byteLength ?? 0) / (2 * channels)));
    return { kind: 'audio', rate, channels, format: 's16le', periodFrames, ring: { capacityFrames: Math.max(rate * 10, periodFrames * 8) }, description };
  }
  if (ch.messageEncoding === 'json') {
    // Records: the schema's numeric properties, else the first message's numeric keys.
    let fields: RecordsSpec['fields'] = [];
    if (ch.schema?.encoding === 'jsonschema') {
      const props = (JSON.parse(new TextDecoder().decode(ch.schema.data)).properties ?? {}) as Record<string, { type?: string | string[]; unit?: string; description?: string }>;
      fields = Object.entries(props)
        .filter(([k, p]) => k !== 'seq' && [p.type].flat().includes('number'))
        .map(([k, p]) => ({ name: k, unit: p.unit ?? '', description: p.description }));
    }
    if (fields.length === 0) {
      const o = JSON.parse(new TextDecoder().decode(first.data)) as Record<string, unknown>;
      fields = Object.entries(o).filter(([k, v]) => k !== 'seq' && typeof v === 'number').map(([k]) => ({ name: k, unit: '' }));
    }
    if (fields.length === 0) throw new UnsupportedFormatError(`channel ${ch.topic}: no numeric fields to replay as records`, { topic: ch.topic });
    return { kind: 'records', fields, rate: Math.max(1, count), ring: { slots: 1024 }, description };
  }
  throw new UnsupportedFormatError(`channel ${ch.topic}: schema '${name || '(none)'}' cannot be replayed: expected one of ${KNOWN.join(', ')}`, { topic: ch.topic, valid: KNOWN });
}

// describe() reads the file's channels; open() reuses them (same worker).
let found: { ch: McapChannelInfo; startNs: bigint | null } | null = null;

async function firstMessage(file: string, topic: string): Promise<McapMessage | null> {
  for await (const m of readMcapMessages(file, [topic])) return m;
  return null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export default defineSource<Parsed>({
  name: 'mcap',
  options: parse,
  async describe(o) {
    const info = await readMcapInfo(o.file);
    const ch = info.channels.find((c) => c.topic === o.topic);
    if (!ch) throw new DeviceNotFoundError(`no channel ${o.topic} in ${o.file} (channels: ${info.channels.map((c) => c.topic).join(', ') || 'none'})`, { topic: o.topic, file: o.file });
    found = { ch, startNs: info.startTime };
    return specOf(ch, await firstMessage(o.file, o.topic), Number(info.counts.get(ch.id) ?? 0n));
  },
  open(ctx, o, spec) {
    const ch = found!.ch;
    const decode = spec.kind === 'records' ? null : decoderFor(ch);
    const fileStart = o.fileStartNs ?? found!.startNs ?? 0n;
    const t0 = new BigInt64Array(o.t0);
    let running = false;
    let resume: (() => void) | null = null;
    let pausedAt = 0n;
    let pausedTotal = 0n;
    let loop: Promise<void> | null = null;
    let closed = false;
    const fields = spec.kind === 'records' ? spec.fields.map((f) => f.name) : [];
    const text = new TextDecoder();
    const pixelCode = spec.kind === 'video' ? formatCode(spec.pixelFormat) : 0;
    // Loop passes continue after the previous one: seq and time shift by the pass's span.
    let seqShift = 0n;
    let timeShift = 0n;
    let lastSeq = -1n;
    let useFileSeq = true;

    const frames = (ctx as FrameSourceContext).frames;
    const samples = (ctx as SampleSourceContext).samples;

    function writeFrame(m: McapMessage, captureNs: bigint, receiveNs: bigint, seq: bigint): void {
      let bytes: Uint8Array;
      let width = 0;
      let height = 0;
      let stride = 0;
      if (spec.kind === 'records') {
        const o = JSON.parse(text.decode(m.data)) as Record<string, unknown>;
        const v = new Float64Array(fields.length);
        for (let i = 0; i < fields.length; i++) v[i] = typeof o[fields[i]] === 'number' ? (o[fields[i]] as number) : NaN;
        bytes = new Uint8Array(v.buffer);
      } else {
        const d = decode!(m);
        bytes = d.data ?? new Uint8Array();
        if (spec.kind === 'video') {
          width = d.width === undefined ? spec.width : Number(d.width);
          height = d.height === undefined ? spec.height : Number(d.height);
          stride = d.step === undefined ? 0 : Number(d.step);
        }
      }
      // Keep the recorded seq when the file has one (a jump is loss in the original, counted as such);
      // a file whose sequence does not increase has none: then items are numbered here.
      if (useFileSeq && lastSeq >= 0n && seq < frames.nextSeq) useFileSeq = false;
      if (useFileSeq) frames.skipTo(seq, 'driver', lastSeq >= 0n);
      const slot = frames.begin();
      if (!slot) return;
      if (bytes.byteLength > slot.data.byteLength) {
        frames.abort(slot);
        frames.reportDrop('driver', 1);
        ctx.log.warn({ bytes: bytes.byteLength, capacity: slot.data.byteLength }, 'message larger than a ring slot: dropped');
        return;
      }
      slot.data.set(bytes);
      if (spec.kind === 'video') {
        slot.width = width;
        slot.height = height;
        slot.stride = stride;
        slot.format = pixelCode;
        if (spec.pixelFormat === 'mjpeg') slot.flags = ItemFlags.KEY;
      }
      frames.commit(slot, bytes.byteLength, captureNs, receiveNs);
    }

    function writeAudio(m: McapMessage, captureNs: bigint, receiveNs: bigint, seq: bigint): void {
      if (spec.kind !== 'audio') return;
      const d = decode!(m);
      const data = d.data ?? new Uint8Array();
      const bpf = 2 * spec.channels;
      const n = Math.floor(data.byteLength / bpf);
      // A jump in the recorded chunk seq is loss in the original: mark the gap.
      if (lastSeq >= 0n && seq > lastSeq + 1n) samples.markGap();
      let done = 0;
      while (done < n) {
        const r = samples.reserve(n - done);
        new Uint8Array(samples.sab, r.byteOffset, r.byteLength).set(data.subarray(done * bpf, (done + r.frames) * bpf));
        samples.commit(r.frames, captureNs + (BigInt(done) * 1_000_000_000n) / BigInt(spec.rate), receiveNs);
        done += r.frames;
      }
    }

    /** Waits while stopped; false once the source is closing. */
    async function whenRunning(): Promise<boolean> {
      while (!running && !ctx.signal.aborted && !closed) await new Promise<void>((r) => (resume = r));
      return !ctx.signal.aborted && !closed;
    }

    async function run(): Promise<void> {
      for (;;) {
        let first: bigint | null = null;
        let last = 0n;
        let firstSeqOfPass: bigint | null = null;
        let count = 0;
        for await (const m of readMcapMessages(o.file, [o.topic])) {
          if (!(await whenRunning())) return;
          first ??= m.logTime;
          last = m.logTime;
          count++;
          const seq = BigInt(m.sequence) + seqShift;
          firstSeqOfPass ??= seq;
          let anchor = Atomics.load(t0, 0);
          if (anchor === 0n) {
            Atomics.compareExchange(t0, 0, 0n, ctx.clock.now());
            anchor = Atomics.load(t0, 0);
          }
          const offset = m.logTime + timeShift - fileStart; // since the file's start, on the replay's timeline
          // Realtime: wait until the message's time on the replay's clock (short naps, so stop and close stay prompt).
          for (let wait = 2; o.pace === 'realtime' && wait > 1; ) {
            wait = Number(anchor + pausedTotal + offset - ctx.clock.now()) / 1e6;
            if (wait > 1) await sleep(Math.min(wait, 100));
            if (!(await whenRunning())) return;
          }
          const captureNs = o.time === 'now' ? anchor + pausedTotal + offset : m.logTime + timeShift;
          const receiveNs = captureNs + (m.publishTime > m.logTime ? m.publishTime - m.logTime : 0n);
          if (spec.kind === 'audio') writeAudio(m, captureNs, receiveNs, seq);
          else writeFrame(m, captureNs, receiveNs, seq);
          lastSeq = seq;
        }
        ctx.emit('end', { pass: String(seqShift), messages: count });
        if (!o.loop || first === null) return;
        // The next pass follows this one after one average spacing, with seq after this pass's last.
        const span = last - first + (count > 1 ? (last - first) / BigInt(count - 1) : 1_000_000n);
        timeShift += span;
        seqShift += lastSeq - (firstSeqOfPass ?? 0n) + 1n;
      }
    }

    return {
      start() {
        if (running) return;
        running = true;
        if (pausedAt) pausedTotal += ctx.clock.now() - pausedAt;
        pausedAt = 0n;
        resume?.();
        loop ??= run().catch((e) => ctx.error(e));
      },
      stop() {
        if (!running) return;
        running = false;
        pausedAt = ctx.clock.now();
      },
      async close() {
        running = false;
        closed = true;
        resume?.();
        await loop;
      },
    };
  },
});
