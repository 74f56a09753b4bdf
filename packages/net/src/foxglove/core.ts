/**
 * The Foxglove WebSocket server itself, running in its own worker (server.ts is the main-thread handle):
 * the HTTP listener, @foxglove/ws-protocol's FoxgloveServer, every client's latest-wins socket, and one
 * {@link FoxgloveFeed} per source that reads its ring only while some client subscribes to `/NAME`.
 * `/NAME/drops` comes from the rings' loss counters; `/NAME/events` from the source's events, which the main
 * thread forwards (they are rare).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import wsProtocol, { type ChannelId } from '@foxglove/ws-protocol';
import { WebSocketServer } from 'ws';
import { IOError, monotonicNs, resolveLogger, type Logger, type LogLevel, type StreamSpec } from '@senseflow/core';
import { channelsFor, jsonChannelMessage, type ChannelDef } from '@senseflow/sinks';
import { FoxgloveFeed } from './feed.js';
import { LatestWinsSocket, type FoxgloveClientStats } from './latest-wins-socket.js';

// A CommonJS package: Node's ESM loader gives it only as the default export.
const { FoxgloveServer } = wsProtocol;
type FoxgloveServer = InstanceType<typeof FoxgloveServer>;

/** The server's settings, validated on the main thread (server.ts), as the worker gets them. */
export interface FoxgloveCoreOptions {
  /** Per source: its name (topic `/NAME`), ring and spec — the Source itself stays on the main thread. */
  streams: { name: string; ring: SharedArrayBuffer; spec: StreamSpec }[];
  port: number;
  host: string;
  token: string | null;
  maxClients: number;
  highWaterBytes: number;
  dropsIntervalMs: number;
  logLevel: LogLevel;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

interface Stream {
  feed: FoxgloveFeed;
  defs: ChannelDef[];
  ids: { data: ChannelId; drops: ChannelId; events: ChannelId };
  /** Drop totals last reported on `/NAME/drops`. */
  reported: Record<string, number>;
}

export class FoxgloveCore {
  private readonly fox: FoxgloveServer;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  readonly streams: Stream[] = [];
  private readonly clients = new Set<LatestWinsSocket>();
  private readonly tokenDigest: Buffer | null;
  private readonly log: Logger;
  private readonly dropsTimer: NodeJS.Timeout;
  private nextClient = 1;
  private closed = false;
  /** Connections refused, by reason (`unauthorized`, `too-many-clients`). */
  readonly rejected: Record<string, number> = {};

  constructor(private readonly o: FoxgloveCoreOptions) {
    this.tokenDigest = o.token ? digest(o.token) : null;
    this.log = resolveLogger({ logLevel: o.logLevel }, { component: 'foxglove', thread: 'foxglove-worker' });
    this.fox = new FoxgloveServer({ name: 'senseflow', capabilities: [], supportedEncodings: ['protobuf', 'json'] });
    const byChannel = new Map<ChannelId, { s: Stream; role: ChannelDef['role'] }>();
    const send = (channel: number, atNs: bigint, payload: Uint8Array) => this.fox.sendMessage(channel, atNs, payload);
    for (const { name, ring, spec } of o.streams) {
      const defs = channelsFor(name, spec);
      const add = (d: ChannelDef) =>
        this.fox.addChannel({
          topic: d.topic,
          encoding: d.messageEncoding,
          schemaName: d.schemaName,
          schemaEncoding: d.schemaEncoding,
          schema: d.schemaEncoding === 'protobuf' ? Buffer.from(d.schemaData).toString('base64') : Buffer.from(d.schemaData).toString('utf8'),
        });
      const ids = { data: add(defs[0]), drops: add(defs[1]), events: add(defs[2]) };
      const feed = new FoxgloveFeed(name, ring, spec, ids.data, send, this.log);
      const s: Stream = { feed, defs, ids, reported: feed.drops() };
      this.streams.push(s);
      byChannel.set(ids.data, { s, role: 'data' });
      byChannel.set(ids.drops, { s, role: 'drops' });
      byChannel.set(ids.events, { s, role: 'events' });
    }
    // FoxgloveServer emits these for a channel's first subscriber and after its last one left.
    this.fox.on('subscribe', (id) => {
      const c = byChannel.get(id);
      if (c?.role === 'data') c.s.feed.start();
    });
    this.fox.on('unsubscribe', (id) => {
      const c = byChannel.get(id);
      if (c?.role === 'data') void c.s.feed.stop();
    });
    this.fox.on('error', (e) => this.log.warn({ err: e }, 'client protocol error'));
    const topicOf = (id: number) => {
      const c = byChannel.get(id);
      return c ? c.s.defs.find((d) => d.role === c.role)?.topic : undefined;
    };

    this.http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('senseflow Foxglove WebSocket server: connect with Foxglove or Lichtblick to ws://HOST:PORT\n');
    });
    this.wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => this.fox.handleProtocols(protocols), perMessageDeflate: false });
    this.http.on('upgrade', (req, socket, head) => {
      const refuse = (status: string, reason: string) => {
        this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
        this.log.warn({ remote: req.socket.remoteAddress, reason }, 'connection refused');
        socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
      };
      if (!this.authorized(req)) return refuse('401 Unauthorized', 'unauthorized');
      if (this.clients.size >= this.o.maxClients) return refuse('503 Service Unavailable', 'too-many-clients');
      this.wss.handleUpgrade(req, socket as Socket, head, (ws) => {
        const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
        const client = new LatestWinsSocket(ws, this.nextClient++, remote, this.o.highWaterBytes, topicOf);
        this.clients.add(client);
        ws.on('close', () => this.clients.delete(client));
        this.fox.handleConnection(client, remote);
        this.log.info({ remote }, 'client connected');
      });
    });
    this.dropsTimer = setInterval(() => this.publishDrops(), o.dropsIntervalMs);
    this.dropsTimer.unref();
  }

  /** Starts listening. Rejects with a typed error if the address is taken. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', (e) => reject(new IOError(`cannot listen on ${this.o.host}:${this.o.port}: ${e.message}`, { host: this.o.host, port: this.o.port }, { cause: e })));
      this.http.listen(this.o.port, this.o.host, () => resolve());
    });
  }

  get address(): { host: string; port: number } {
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  clientStats(): FoxgloveClientStats[] {
    return [...this.clients].map((c) => c.stats);
  }

  /** A source event for `/NAME/events` (JSON-safe, as forwarded by the main thread). */
  event(stream: number, atNs: bigint, event: Record<string, unknown>): void {
    const s = this.streams[stream];
    if (s && !this.closed) this.fox.sendMessage(s.ids.events, atNs, jsonChannelMessage(event));
  }

  /** Closes every connection, the listener and the feeds. The sources stay open (they are the caller's). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.dropsTimer);
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
    await Promise.all([new Promise<void>((r) => this.http.close(() => r())), ...this.streams.map((s) => s.feed.stop())]);
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    const given = url.searchParams.get('token') ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : null);
    return given !== null && timingSafeEqual(digest(given), this.tokenDigest);
  }

  /** `/NAME/drops`: one message per cause whose count moved since the last check. */
  private publishDrops(): void {
    const at = monotonicNs();
    for (const s of this.streams) {
      const now = s.feed.drops();
      for (const [cause, total] of Object.entries(now)) {
        const count = total - (s.reported[cause] ?? 0);
        if (count > 0) this.fox.sendMessage(s.ids.drops, at, jsonChannelMessage({ atNs: String(at), cause, count, total, afterSeq: null }));
      }
      s.reported = now;
    }
  }
}
