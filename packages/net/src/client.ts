/**
 * One connected client and its bounded queues. Nothing here ever waits: a client whose socket is backed up
 * simply gets less. Video is latest-wins (one pending "send the newest" flag per stream, skipped frames
 * counted); audio and records are continuous (a byte-bounded queue; overflow drops the oldest and the
 * client is told its gap with a GAP message before the next item).
 *
 * Freshness: a client's first video frame is never older than the `firstSeq` announced to it; nothing
 * older than `maxAgeMs` (by capture time) is handed to its socket — older queued items are dropped and
 * reported as a GAP — and nothing more is written while the oldest byte waiting in its socket buffer has
 * waited half of maxAge, so a slow reader's backlog stays that deep in time instead of megabytes deep.
 *
 * A client that acknowledges what it consumed (HELLO `ack: true`, then ACK messages; flow.ts) is held to a
 * window of bytes in flight sized by its measured drain rate, so the kernel's buffers between us cannot hold
 * more than a share of maxAge either; items are handed to its socket only while they are at most
 * `maxAgeMs × SEND_AGE_SHARE` old. Together an item reaches such a client within maxAgeMs of its capture.
 */
import { monotonicNs, type Logger } from '@senseflow/core';
import { messageBytes, type BuiltMessage, type StreamFeed } from './feed.js';
import { HEADER_BYTES, jsonMessage, MsgType, ProtocolError } from './codec.js';
import { FlowWindow, SEND_AGE_SHARE } from './flow.js';
import type { Transport } from './transport.js';

export type VideoMode = 'raw' | 'jpeg';

/** Why a client lost items (the GAP message's `cause`). */
export type GapCause = 'slow-client' | 'too-old' | 'server';

interface StreamState {
  feed: StreamFeed;
  /** Video only: how this client gets frames. */
  mode: VideoMode | null;
  lastSent: bigint;
  /** Video: the first frame sent must have at least this seq (the announced firstSeq). */
  floor: bigint;
  /** Video: a newer frame exists than the one sent (sent when the socket drains). */
  pending: boolean;
  queue: BuiltMessage[];
  queueBytes: number;
  /** Units (audio frames / records) dropped and not yet reported with a GAP message, and why (the first cause). */
  unreported: number;
  cause: GapCause;
  /** Total loss on this connection (video frames skipped, audio frames, records). */
  dropped: number;
  sent: number;
}

export interface ClientLimits {
  /** Stop writing to a socket while this many bytes are queued on it (the ceiling; see maxAgeMs). */
  highWaterBytes: number;
  /** Bound on each continuous (audio/records) stream's queue. */
  queueBytes: number;
  /** Oldest item (capture time) handed to the socket; also sizes the socket backlog by the drain rate. */
  maxAgeMs: number;
}

/** A bound on a GAP message's size: what must fit in the window before one is written. */
const GAP_BYTES = HEADER_BYTES + 160;

export class NetClient {
  state: 'hello' | 'streaming' | 'closed' = 'hello';
  readonly connectedAt = Date.now();
  lastRecvAt = Date.now();
  lastProgressAt = Date.now();
  sentBytes = 0;
  /** Messages in the socket buffer: cumulative byte position where each ends, and when it was written. */
  private readonly inBuffer: { end: number; at: number }[] = [];
  private readonly streams = new Map<number, StreamState>();
  /** The oldest capture time (as an age) handed to the socket: maxAge, or its send share with flow control. */
  private maxAgeNs: bigint;
  /** Set when the client acknowledges what it consumed (HELLO `ack: true`). */
  private flow: FlowWindow | null = null;

  constructor(
    readonly id: number,
    readonly transport: Transport,
    private readonly limits: ClientLimits,
    readonly log: Logger,
  ) {
    this.maxAgeNs = BigInt(Math.round(limits.maxAgeMs * 1e6));
    transport.socket.on('drain', () => {
      this.lastProgressAt = Date.now();
      this.flush();
    });
  }

  /** Starts streaming `feeds` to this client; `firstSeq` is what its STREAMS announced per stream id; `ack`: it sends ACKs. */
  subscribe(feeds: StreamFeed[], video: VideoMode, firstSeq: Map<number, bigint>, ack = false): void {
    if (ack) {
      this.flow = new FlowWindow(this.limits.maxAgeMs);
      this.maxAgeNs = BigInt(Math.round(this.limits.maxAgeMs * SEND_AGE_SHARE * 1e6));
    }
    for (const feed of feeds) {
      let mode: VideoMode | null = null;
      if (feed.spec.kind === 'video') {
        // MJPEG is sent as it is (a 'raw' passthrough); formats the encoder cannot read go raw too.
        mode = feed.passthrough || !feed.jpegCapable ? 'raw' : video;
        if (mode === 'jpeg') feed.jpegClients++;
        else feed.rawClients++;
      }
      const floor = firstSeq.get(feed.id) ?? 0n;
      this.streams.set(feed.id, { feed, mode, lastSent: -1n, floor, pending: true, queue: [], queueBytes: 0, unreported: 0, cause: 'slow-client', dropped: 0, sent: 0 });
    }
    this.state = 'streaming';
    this.flush();
  }

  /** A new video frame is available in `mode`. */
  offerVideo(feed: StreamFeed, mode: VideoMode, m: BuiltMessage | null): void {
    const s = this.streams.get(feed.id);
    if (!s || s.mode !== mode) return;
    if (!this.ready(this.videoBytes(s, m))) {
      s.pending = true;
      return;
    }
    const msg = m ?? feed.currentRaw();
    if (msg) this.sendVideo(s, msg);
  }

  /** A new audio/records message: queued (bounded), then flushed as far as the socket allows. */
  offerContinuous(feed: StreamFeed, m: BuiltMessage): void {
    const s = this.streams.get(feed.id);
    if (!s) return;
    if (s.queue.length === 0 && s.unreported === 0 && this.ready(messageBytes(m))) {
      this.write(m.msg);
      s.lastSent = m.seq;
      s.sent++;
      return;
    }
    s.queue.push(m);
    s.queueBytes += messageBytes(m);
    while (s.queueBytes > this.limits.queueBytes && s.queue.length > 1) this.dropOldest(s, 'slow-client');
    this.flush();
  }

  /** An ACK: `consumed` bytes of our messages were consumed. Throws a ProtocolError for one we did not ask for, or a bad count. */
  onAck(consumed: bigint): void {
    if (!this.flow) throw new ProtocolError('ACK from a connection that did not ask for flow control (HELLO `ack: true`)');
    this.flow.onAck(consumed, this.sentBytes);
    this.lastProgressAt = Date.now();
    this.flush();
  }

  /** The feed lost `units` before building messages (lapped or torn in the ring): the client is told with a GAP. */
  offerLoss(feed: StreamFeed, units: number): void {
    const s = this.streams.get(feed.id);
    if (!s) return;
    this.lose(s, units, 'server');
    this.flush();
  }

  /** Sends what the socket can take now: continuous streams first (small, ordered), then the newest video. */
  flush(): void {
    if (this.state !== 'streaming') return;
    const oldest = monotonicNs() - this.maxAgeNs;
    for (const s of this.streams.values()) {
      // Items older than the client's maximum age are dropped (and reported), never sent late.
      while (s.queue.length > 0 && s.queue[0].captureNs < oldest && s.feed.spec.kind === 'audio') this.dropOldest(s, 'too-old');
      while (s.queue.length > 0 || s.unreported > 0) {
        if (!this.ready(s.unreported > 0 ? GAP_BYTES : messageBytes(s.queue[0]))) break;
        if (s.unreported > 0) {
          const unit = s.feed.spec.kind === 'audio' ? 'frames' : 'items';
          this.write(jsonMessage(MsgType.GAP, { stream: s.feed.id, lost: s.unreported, unit, cause: s.cause, nextSeq: String(s.queue[0]?.seq ?? s.lastSent + 1n) }, s.feed.id));
          s.unreported = 0;
          continue;
        }
        const m = s.queue.shift()!;
        s.queueBytes -= messageBytes(m);
        this.write(m.msg);
        s.lastSent = m.seq;
        s.sent++;
      }
    }
    for (const s of this.streams.values()) {
      if (!s.pending || !this.ready(this.videoBytes(s, null))) continue;
      const m = s.mode === 'jpeg' ? s.feed.latestJpeg : s.feed.currentRaw();
      if (m) this.sendVideo(s, m);
    }
  }

  /** How long the oldest byte still in this client's socket buffer has waited (ms); 0 when it is empty. */
  backlogAgeMs(): number {
    const out = this.sentBytes - this.transport.buffered();
    while (this.inBuffer.length > 0 && this.inBuffer[0].end <= out) this.inBuffer.shift();
    return this.inBuffer.length === 0 ? 0 : performance.now() - this.inBuffer[0].at;
  }

  /** Queued bytes this client holds in memory (socket buffer + continuous queues). */
  queuedBytes(): number {
    let n = this.transport.buffered();
    for (const s of this.streams.values()) n += s.queueBytes;
    return n;
  }

  stats(): Record<string, unknown> {
    const streams: Record<string, unknown> = {};
    for (const s of this.streams.values()) streams[s.feed.name] = { sent: s.sent, dropped: s.dropped, queuedBytes: s.queueBytes, mode: s.mode };
    return {
      id: this.id,
      transport: this.transport.kind,
      remote: this.transport.remote,
      sentBytes: this.sentBytes,
      bufferedBytes: this.transport.buffered(),
      backlogAgeMs: Math.round(this.backlogAgeMs()),
      flow: this.flow ? this.flow.stats(this.sentBytes) : null,
      streams,
    };
  }

  /** Stops streaming and releases this client's claims on the feeds. Idempotent. */
  detach(): void {
    if (this.state === 'closed') return;
    for (const s of this.streams.values()) {
      if (s.mode === 'jpeg') s.feed.jpegClients--;
      else if (s.mode === 'raw') s.feed.rawClients--;
    }
    this.streams.clear();
    this.state = 'closed';
  }

  write(msg: Uint8Array | Uint8Array[], done?: () => void): void {
    this.sentBytes += Array.isArray(msg) ? msg.reduce((n, p) => n + p.byteLength, 0) : msg.byteLength;
    this.transport.send(msg, done);
    if (this.transport.buffered() > 0) this.inBuffer.push({ end: this.sentBytes, at: performance.now() });
  }

  /** Whether a message of `bytes` may be written now: the flow window (acking clients), then the socket backlog. */
  private ready(bytes: number): boolean {
    if (this.flow && !this.flow.allows(this.sentBytes, bytes)) return false;
    const buffered = this.transport.buffered();
    return buffered === 0 || (buffered < this.limits.highWaterBytes && this.backlogAgeMs() < this.limits.maxAgeMs / 2);
  }

  /** A video message's size before it is built: the one offered, the raw frame's size from the spec, or the last one sent. */
  private videoBytes(s: StreamState, m: BuiltMessage | null): number {
    if (m) return messageBytes(m);
    const spec = s.feed.spec;
    if (s.mode === 'raw' && spec.kind === 'video' && !s.feed.passthrough) return HEADER_BYTES + spec.stride * spec.height;
    const last = s.mode === 'jpeg' ? s.feed.latestJpeg : s.feed.latestRaw;
    return last ? messageBytes(last) : 0;
  }

  private dropOldest(s: StreamState, cause: GapCause): void {
    const old = s.queue.shift()!;
    s.queueBytes -= messageBytes(old);
    this.lose(s, old.units, cause);
  }

  private lose(s: StreamState, units: number, cause: GapCause): void {
    if (s.unreported === 0) s.cause = cause;
    s.unreported += units;
    s.dropped += units;
  }

  private sendVideo(s: StreamState, m: BuiltMessage): void {
    s.pending = false;
    // Never older than announced (a JPEG encoded for an earlier client), never sent twice, never too old.
    if (m.seq < s.floor || m.seq <= s.lastSent) return;
    if (m.captureNs < monotonicNs() - this.maxAgeNs || (this.flow && !this.flow.allows(this.sentBytes, messageBytes(m)))) {
      s.pending = true; // wait for a fresh one, or for room in the window
      return;
    }
    if (s.lastSent >= 0n && m.seq > s.lastSent + 1n) s.dropped += Number(m.seq - s.lastSent - 1n);
    s.lastSent = m.seq;
    s.sent++;
    this.write(m.msg, s.feed.claim(m));
  }
}
