/**
 * One served stream, in the server's worker: reads the source's ring (core's RingConsumer: tear checks and
 * loss accounting inside) and turns items into wire messages, once per item, shared by every client (a
 * message is immutable after it is built, so N clients cost N socket writes, not N copies). Video keeps only
 * the newest message per encoding (latest-wins); JPEG encoding runs one frame at a time on libuv's pool and
 * always picks up the newest frame when it finishes. Audio and records are copied out of the ring into their
 * message and the copy is verified; a torn or lapped item is a counted loss, reported to clients as a GAP.
 */
import {
  formatCode,
  formatName,
  FrameRingReader,
  RingConsumer,
  SampleFormatCode,
  SampleRingReader,
  type FrameView,
  type Logger,
  type SampleArray,
  type SampleChunkView,
  type StreamSpec,
} from '@senseflow/core';
import { encodeJpeg, isJpegFormat, JPEG_INPUT_FORMATS, snapshotForJpeg } from './jpeg.js';
import { allocMessage, HEADER_BYTES, MsgType, writeHeader } from './codec.js';

export interface BuiltMessage {
  seq: bigint;
  /** The item's capture time (the server's CLOCK_MONOTONIC): what a client's maximum age is measured against. */
  captureNs: bigint;
  /** The whole message, or [header, payload] when the payload is a view over the ring (zero-copy). */
  msg: Uint8Array | [Uint8Array, Uint8Array];
  /** Audio: frames in the message; records/video: 1. What a client loses if this message is dropped. */
  units: number;
  /** Raw video only: what keeps the bytes valid (a ring lease or a pooled buffer) while writes use them. */
  hold?: Hold;
}

interface Hold {
  writes: number;
  retired: boolean;
  free(): void;
}

/** Raw frame buffers kept for reuse per stream: fresh multi-megabyte buffers cost page faults and GC. */
const POOL_MAX = 4;
/** Ring slots never leased for sending: the source always has these to write into. */
const FREE_SLOTS = 3;

export const messageBytes = (m: BuiltMessage): number => (Array.isArray(m.msg) ? m.msg[0].length + m.msg[1].length : m.msg.length);

export interface FeedEvents {
  /** A new video frame is available in `mode`: the JPEG message, or null for raw (pull `currentRaw()`). */
  video(feed: StreamFeed, mode: 'raw' | 'jpeg', m: BuiltMessage | null): void;
  /** A new audio or records message, to be queued for every subscribed client. */
  continuous(feed: StreamFeed, m: BuiltMessage): void;
  /** Audio/records units (frames / items) this feed lost before building messages (lapped or torn): a GAP for every client. */
  lost(feed: StreamFeed, units: number): void;
}

const MJPG = formatCode('mjpeg');

type FrameFields = Pick<FrameView, 'seq' | 'captureNs' | 'flags' | 'width' | 'height' | 'stride' | 'data'> & { pixelFormat: string };

/** What the server's worker knows of a served source: its ring and spec (the Source stays on the main thread). */
export interface FeedSource {
  name: string;
  /** The source's plugin name. */
  definition: string;
  ring: SharedArrayBuffer;
  spec: StreamSpec;
}

export class StreamFeed {
  readonly spec: StreamSpec;
  /** Clients that want this stream's video as JPEG (encoding runs only while > 0). */
  jpegClients = 0;
  /** Clients that want raw video (or MJPEG passthrough): raw messages are built only while > 0. */
  rawClients = 0;
  latestRaw: BuiltMessage | null = null;
  private readonly pool: Buffer[] = [];
  /** Readers used only to hold leases on slots being sent (each holds one), and how many do now. */
  private readonly spareLeases: FrameRingReader[] = [];
  private leased = 0;
  latestJpeg: BuiltMessage | null = null;
  /** The source's stats$ as forwarded by the main thread (JSON-safe). */
  lastStats: Record<string, unknown> | null = null;
  /** Frames the encoder skipped because it was still busy with an earlier one. */
  encoderSkipped = 0;
  encoded = 0;
  private encoding = false;
  private missed = false;
  private readonly reader: FrameRingReader | null;
  private readonly ring: SharedArrayBuffer;
  private readonly abort = new AbortController();
  /** Loss already passed on to clients (the consumer's `overwritten` count). */
  private reportedLoss = 0;
  readonly done: Promise<void>;

  constructor(
    readonly id: number,
    readonly name: string,
    src: FeedSource,
    private readonly events: FeedEvents,
    private readonly quality: number,
    private readonly log: Logger,
  ) {
    this.spec = src.spec;
    this.ring = src.ring;
    // Our own reader for video leases: never disturbs anyone else's view of the ring.
    this.reader = this.spec.kind === 'video' ? new FrameRingReader(this.ring) : null;
    this.done = this.run().catch((e: unknown) => this.log.error({ err: e, stream: name }, 'feed stopped'));
  }

  /** The newest item's seq in the ring (video/records: items; audio: chunks), or -1 before the first. */
  newestSeq(): bigint {
    this.seqReader ??= this.spec.kind === 'audio' ? new SampleRingReader(this.ring) : new FrameRingReader(this.ring);
    return (this.seqReader instanceof SampleRingReader ? this.seqReader.chunksWritten() : this.seqReader.head()) - 1n;
  }
  private seqReader: FrameRingReader | SampleRingReader | null = null;

  /** Reads the ring until it closes or the feed is closed: the only place this feed consumes items. */
  private async run(): Promise<void> {
    const c = new RingConsumer(this.ring, { signal: this.abort.signal });
    try {
      while (await c.wait()) {
        if (this.spec.kind === 'video') {
          // Latest-wins: only the newest of a batch matters (it stays leased until the next take/release).
          let last: FrameView | null = null;
          for (let it = c.take() as FrameView | null; it; it = c.take() as FrameView | null) last = it;
          if (last) this.onVideo(last);
          c.release();
          continue;
        }
        for (let it = c.take(); it; it = c.take()) {
          const m = this.spec.kind === 'audio' ? this.audioMessage(c, it as SampleChunkView) : this.recordsMessage(c, it as FrameView);
          if (m) this.events.continuous(this, m);
        }
        const lost = c.drops().overwritten;
        if (lost > this.reportedLoss) this.events.lost(this, lost - this.reportedLoss);
        this.reportedLoss = lost;
      }
    } finally {
      c.close();
    }
  }

  /** Whether this stream can be sent as JPEG (MJPEG as is, or a pixel format the encoder reads). */
  get jpegCapable(): boolean {
    return this.spec.kind === 'video' && (this.passthrough || (JPEG_INPUT_FORMATS as readonly string[]).includes(this.spec.pixelFormat));
  }

  /** MJPEG streams are sent as they are, whatever the client asked for. */
  get passthrough(): boolean {
    return this.spec.kind === 'video' && isJpegFormat(this.spec.pixelFormat);
  }

  /**
   * The newest raw video message, built now if the cache is older. Zero-copy when it can: the payload is a
   * view over the ring slot, leased (the writer skips it) until every socket write of it is done. At most
   * `slots - 3` slots are leased this way, so the source always has room; past that the frame is copied
   * once into a pooled buffer.
   */
  currentRaw(): BuiltMessage | null {
    const reader = this.reader;
    if (!reader) return this.latestRaw;
    const head = reader.head();
    if (head === 0n || (this.latestRaw && this.latestRaw.seq >= head - 1n)) return this.latestRaw;
    const m = this.leased < reader.slots - FREE_SLOTS ? this.leasedMessage() : this.copiedMessage();
    if (!m) return this.latestRaw;
    if (this.latestRaw) this.retire(this.latestRaw);
    return (this.latestRaw = m);
  }

  private leasedMessage(): BuiltMessage | null {
    const r = this.spareLeases.pop() ?? new FrameRingReader(this.ring);
    const f = r.latest();
    if (!f) {
      this.spareLeases.push(r);
      return null;
    }
    this.leased++;
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(header, { type: MsgType.VIDEO, stream: this.id, seq: f.seq, captureNs: f.captureNs, flags: f.flags, f0: f.width, f1: f.height, f2: f.stride, f3: f.format, payloadBytes: f.byteLength });
    const payload = Buffer.from(f.data.buffer, f.data.byteOffset, f.byteLength);
    const free = () => {
      r.release();
      this.leased--;
      this.spareLeases.push(r);
    };
    return { seq: f.seq, captureNs: f.captureNs, msg: [header, payload], units: 1, hold: { writes: 0, retired: false, free } };
  }

  private copiedMessage(): BuiltMessage | null {
    const f = this.reader!.latest();
    if (!f) return null;
    try {
      return this.rawMessage(f.seq, f.captureNs, f.flags, f.width, f.height, f.stride, f.format, f.data);
    } finally {
      this.reader!.release();
    }
  }

  close(): Promise<void> {
    this.abort.abort();
    if (this.latestRaw) this.retire(this.latestRaw);
    this.reader?.release();
    return this.done;
  }

  private onVideo(f: FrameView): void {
    // Raw: only announce. Clients that can send now pull `currentRaw()`, which copies the newest frame out
    // of the ring once per seq; when every client is backed up, nothing is copied at all.
    if (this.rawClients > 0) this.events.video(this, 'raw', null);
    if (this.jpegClients > 0 && !this.passthrough) this.maybeEncode({ ...f, pixelFormat: formatName(f.format) });
  }

  private maybeEncode(f: FrameFields): void {
    if (this.encoding) {
      this.encoderSkipped++;
      this.missed = true;
      return;
    }
    this.encoding = true;
    this.missed = false;
    const { seq, captureNs, flags, width, height, pixelFormat } = f;
    let snap: ReturnType<typeof snapshotForJpeg>;
    try {
      snap = snapshotForJpeg(f.data, width, height, f.stride, pixelFormat);
    } catch (e) {
      this.encoding = false;
      this.log.warn({ err: e, stream: this.name }, 'cannot encode this stream as JPEG');
      return;
    }
    encodeJpeg(snap, width, height, pixelFormat, this.quality)
      .then((jpeg) => {
        const m = allocMessage({ type: MsgType.VIDEO, stream: this.id, seq, captureNs, flags, f0: width, f1: height, f2: 0, f3: MJPG }, jpeg.length);
        jpeg.copy(m, HEADER_BYTES);
        this.encoded++;
        this.latestJpeg = { seq, captureNs, msg: m, units: 1 };
        this.events.video(this, 'jpeg', this.latestJpeg);
      })
      .catch((e: unknown) => this.log.warn({ err: e, stream: this.name }, 'JPEG encoding failed'))
      .finally(() => {
        this.encoding = false;
        // Frames came while we worked: encode the newest now rather than wait for the next one.
        if (this.missed && this.jpegClients > 0) this.encodeNewest();
      });
  }

  private encodeNewest(): void {
    const v = this.reader?.latest();
    if (!v) return;
    try {
      if (!this.latestJpeg || v.seq > this.latestJpeg.seq) this.maybeEncode({ ...v, pixelFormat: formatName(v.format) });
    } finally {
      this.reader!.release();
    }
  }

  /** One copy of a raw frame out of the ring, into a pooled buffer shared by every client. */
  private rawMessage(seq: bigint, captureNs: bigint, flags: number, width: number, height: number, stride: number, format: number, data: Uint8Array): BuiltMessage {
    const cap = HEADER_BYTES + Math.max(data.byteLength, this.spec.kind === 'video' ? this.spec.ring.slotBytes : 0);
    let buf = this.pool.pop();
    if (!buf || buf.length < HEADER_BYTES + data.byteLength) buf = Buffer.allocUnsafeSlow(cap);
    const msg = buf.subarray(0, HEADER_BYTES + data.byteLength);
    writeHeader(msg, { type: MsgType.VIDEO, stream: this.id, seq, captureNs, flags, f0: width, f1: height, f2: stride, f3: format, payloadBytes: data.byteLength });
    msg.set(data, HEADER_BYTES);
    const b = buf;
    return { seq, captureNs, msg, units: 1, hold: { writes: 0, retired: false, free: () => this.pool.length < POOL_MAX && this.pool.push(b) } };
  }

  /** A client is about to write `m`: returns the callback to run when that write is done (or failed). */
  claim(m: BuiltMessage): (() => void) | undefined {
    const h = m.hold;
    if (!h) return undefined;
    h.writes++;
    let once = false;
    return () => {
      if (once) return;
      once = true;
      h.writes--;
      if (h.retired && h.writes === 0) h.free();
    };
  }

  /** `m` is no longer the newest: its bytes are let go once no write uses them. */
  private retire(m: BuiltMessage): void {
    const h = m.hold;
    if (!h || h.retired) return;
    h.retired = true;
    if (h.writes === 0) h.free();
  }

  /** The chunk copied into its message and verified after copying; null when the writer tore it (counted by the consumer). */
  private audioMessage(c: RingConsumer, v: SampleChunkView): BuiltMessage | null {
    const spec = this.spec as Extract<StreamSpec, { kind: 'audio' }>;
    const bytes = v.data.byteLength;
    // A fresh ArrayBuffer per message: the payload view (offset 56) is aligned for any sample type.
    const msg = new Uint8Array(HEADER_BYTES + bytes);
    writeHeader(msg, {
      type: MsgType.AUDIO, stream: this.id, seq: v.seq, captureNs: v.captureNs, flags: v.flags, aux: v.startFrame,
      f0: v.frames, f1: spec.channels, f2: spec.rate, f3: SampleFormatCode[spec.format], payloadBytes: bytes,
    });
    const Ctor = v.data.constructor as { new (b: ArrayBuffer, o: number, n: number): SampleArray };
    if (!c.copy(v, new Ctor(msg.buffer as ArrayBuffer, HEADER_BYTES, v.data.length))) return null;
    return { seq: v.seq, captureNs: v.captureNs, msg, units: v.frames };
  }

  private recordsMessage(c: RingConsumer, v: FrameView): BuiltMessage | null {
    const msg = new Uint8Array(HEADER_BYTES + v.byteLength);
    writeHeader(msg, { type: MsgType.RECORDS, stream: this.id, seq: v.seq, captureNs: v.captureNs, flags: v.flags, f0: v.byteLength / 8, payloadBytes: v.byteLength });
    if (!c.copy(v, msg.subarray(HEADER_BYTES))) return null;
    return { seq: v.seq, captureNs: v.captureNs, msg, units: 1 };
  }
}
