/**
 * One connected client and its bounded queues. Nothing here ever waits: a client whose socket is backed up
 * simply gets less. Video is latest-wins (one pending "send the newest" flag per stream, skipped frames
 * counted); audio and records are continuous (a byte-bounded queue; overflow drops the oldest and the
 * client is told its gap with a GAP message before the next item).
 */
import type { Logger } from '@senseflow/core';
import { messageBytes, type BuiltMessage, type StreamFeed } from './feed.js';
import { jsonMessage, MsgType } from './codec.js';
import type { Transport } from './transport.js';

export type VideoMode = 'raw' | 'jpeg';

interface StreamState {
  feed: StreamFeed;
  /** Video only: how this client gets frames. */
  mode: VideoMode | null;
  lastSent: bigint;
  /** Video: a newer frame exists than the one sent (sent when the socket drains). */
  pending: boolean;
  queue: BuiltMessage[];
  queueBytes: number;
  /** Units (audio frames / records) dropped and not yet reported with a GAP message. */
  unreported: number;
  /** Total loss on this connection (video frames skipped, audio frames, records). */
  dropped: number;
  sent: number;
}

export interface ClientLimits {
  /** Stop writing to a socket while this many bytes are queued on it. */
  highWaterBytes: number;
  /** Bound on each continuous (audio/records) stream's queue. */
  queueBytes: number;
}

export class NetClient {
  state: 'hello' | 'streaming' | 'closed' = 'hello';
  readonly connectedAt = Date.now();
  lastRecvAt = Date.now();
  lastProgressAt = Date.now();
  sentBytes = 0;
  private readonly streams = new Map<number, StreamState>();

  constructor(
    readonly id: number,
    readonly transport: Transport,
    private readonly limits: ClientLimits,
    readonly log: Logger,
  ) {
    transport.socket.on('drain', () => {
      this.lastProgressAt = Date.now();
      this.flush();
    });
  }

  /** Starts streaming `feeds` to this client. */
  subscribe(feeds: StreamFeed[], video: VideoMode): void {
    for (const feed of feeds) {
      let mode: VideoMode | null = null;
      if (feed.spec.kind === 'video') {
        // MJPEG is sent as it is (a 'raw' passthrough); formats the encoder cannot read go raw too.
        mode = feed.passthrough || !feed.jpegCapable ? 'raw' : video;
        if (mode === 'jpeg') feed.jpegClients++;
        else feed.rawClients++;
      }
      this.streams.set(feed.id, { feed, mode, lastSent: -1n, pending: true, queue: [], queueBytes: 0, unreported: 0, dropped: 0, sent: 0 });
    }
    this.state = 'streaming';
    this.flush();
  }

  /** A new video frame is available in `mode`. */
  offerVideo(feed: StreamFeed, mode: VideoMode, m: BuiltMessage | null): void {
    const s = this.streams.get(feed.id);
    if (!s || s.mode !== mode) return;
    if (!this.ready()) {
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
    if (s.queue.length === 0 && s.unreported === 0 && this.ready()) {
      this.write(m.msg);
      s.lastSent = m.seq;
      s.sent++;
      return;
    }
    s.queue.push(m);
    s.queueBytes += messageBytes(m);
    while (s.queueBytes > this.limits.queueBytes && s.queue.length > 1) {
      const old = s.queue.shift()!;
      s.queueBytes -= messageBytes(old);
      s.unreported += old.units;
      s.dropped += old.units;
    }
    this.flush();
  }

  /** The feed lost `units` before building messages (lapped or torn in the ring): the client is told with a GAP. */
  offerLoss(feed: StreamFeed, units: number): void {
    const s = this.streams.get(feed.id);
    if (!s) return;
    s.unreported += units;
    s.dropped += units;
    this.flush();
  }

  /** Sends what the socket can take now: continuous streams first (small, ordered), then the newest video. */
  flush(): void {
    if (this.state !== 'streaming') return;
    for (const s of this.streams.values()) {
      while (this.ready() && (s.queue.length > 0 || s.unreported > 0)) {
        if (s.unreported > 0) {
          const unit = s.feed.spec.kind === 'audio' ? 'frames' : 'items';
          this.write(jsonMessage(MsgType.GAP, { stream: s.feed.id, lost: s.unreported, unit, cause: 'slow-client' }, s.feed.id));
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
      if (!s.pending || !this.ready()) continue;
      const m = s.mode === 'jpeg' ? s.feed.latestJpeg : s.feed.currentRaw();
      if (m) this.sendVideo(s, m);
    }
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
    return { id: this.id, transport: this.transport.kind, remote: this.transport.remote, sentBytes: this.sentBytes, bufferedBytes: this.transport.buffered(), streams };
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
  }

  private ready(): boolean {
    return this.transport.buffered() < this.limits.highWaterBytes;
  }

  private sendVideo(s: StreamState, m: BuiltMessage): void {
    s.pending = false;
    if (m.seq <= s.lastSent) return;
    if (s.lastSent >= 0n && m.seq > s.lastSent + 1n) s.dropped += Number(m.seq - s.lastSent - 1n);
    s.lastSent = m.seq;
    s.sent++;
    this.write(m.msg, s.feed.claim(m));
  }
}
