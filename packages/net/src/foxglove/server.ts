/**
 * The Foxglove WebSocket server: serves senseflow sources to Foxglove and Lichtblick (and any
 * @foxglove/ws-protocol client) with the same channels and schemas as an MCAP recording. The protocol
 * itself is @foxglove/ws-protocol's FoxgloveServer; this file adds what live capture needs:
 * - latest-wins per client: a client whose socket is backed up keeps only the newest message per
 *   subscription, older ones are dropped and counted (never an unbounded queue);
 * - safe defaults as for `serve`: binds 127.0.0.1, any other address needs a token (`?token=` in the URL
 *   or `Authorization: Bearer`), a bounded number of clients;
 * - a source's items are read only while some client subscribes to its channel.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import wsProtocol, { type ChannelId, type IWebSocket } from '@foxglove/ws-protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Subscription } from 'rxjs';
import { InvalidOptionError, IOError, monotonicNs, resolveLogger, type Logger, type LogLevel, type Source, type SourceItem } from '@senseflow/core';
import { channelsFor, jsonChannelMessage, MessageEncoder, type ChannelDef } from '@senseflow/sinks';

export interface FoxgloveServeOptions {
  /** The streams to serve, by name: each becomes `/NAME`, `/NAME/drops` and `/NAME/events`. */
  sources: Record<string, Source>;
  /** TCP port (default 8765, Foxglove's usual; 0 picks a free one). */
  port?: number;
  /** Address to bind (default `127.0.0.1`). Anything but loopback requires `token`. */
  host?: string;
  /** Shared secret every client must present: `ws://host:port/?token=T` or `Authorization: Bearer T`. */
  token?: string;
  /** Most clients at once (default 16). */
  maxClients?: number;
  /** Per client: above this many bytes waiting in its socket, only the newest message per channel is kept (default 4 MiB). */
  highWaterBytes?: number;
  /** How often drop counts are checked for `/NAME/drops` (default 1000 ms). */
  dropsIntervalMs?: number;
  logger?: Logger;
  logLevel?: LogLevel;
}

// A CommonJS package: Node's ESM loader gives it only as the default export.
const { FoxgloveServer } = wsProtocol;
type FoxgloveServer = InstanceType<typeof FoxgloveServer>;

const LOOPBACK = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h);
const digest = (s: string) => createHash('sha256').update(s).digest();
const MESSAGE_DATA = 0x01;

/** What one client was sent and lost (latest-wins), by topic. */
export interface FoxgloveClientStats {
  id: number;
  remote: string;
  sent: Record<string, number>;
  dropped: Record<string, number>;
}

/**
 * A client connection as FoxgloveServer sees it, with latest-wins in front of the real socket. Message
 * data arrives as a 13-byte header (opcode, subscription id, timestamp) then the payload; when the socket
 * is backed up the pair is parked per subscription, replacing (and counting) an older parked one.
 */
class LatestWinsSocket implements IWebSocket {
  binaryType = 'arraybuffer';
  onerror: ((event: unknown) => void) | null | undefined = null;
  onopen: ((event: unknown) => void) | null | undefined = null;
  onclose: ((event: unknown) => void) | null | undefined = null;
  onmessage: ((event: unknown) => void) | null | undefined = null;
  private header: Uint8Array | null = null;
  private readonly parked = new Map<number, [Uint8Array, ArrayBufferView | ArrayBuffer]>();
  /** Subscription id → topic, learned from the client's subscribe requests. */
  private readonly topics = new Map<number, string>();
  readonly stats: FoxgloveClientStats;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly ws: WebSocket,
    id: number,
    remote: string,
    private readonly highWater: number,
    private readonly topicOf: (channelId: number) => string | undefined,
  ) {
    this.stats = { id, remote, sent: {}, dropped: {} };
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text) this.learn(text);
      this.onmessage?.({ data: isBinary ? new Uint8Array(data as Buffer) : text });
    });
    ws.on('close', (code, reason) => {
      if (this.timer) clearInterval(this.timer);
      this.parked.clear();
      this.onclose?.({ code, reason: reason.toString(), wasClean: true });
    });
    ws.on('error', (e) => this.onerror?.(e));
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  close(): void {
    this.ws.close();
  }

  send(data: string | ArrayBuffer | ArrayBufferView, options?: { fin?: boolean }): void {
    if (typeof data === 'string') return void this.ws.send(data);
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (options?.fin === false && bytes[0] === MESSAGE_DATA && bytes.byteLength === 13) {
      this.header = bytes;
      return;
    }
    const header = this.header;
    this.header = null;
    if (!header) return void this.ws.send(bytes);
    const sub = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(1, true);
    if (this.ws.bufferedAmount > this.highWater || this.parked.size > 0) {
      if (this.parked.has(sub)) this.count(this.stats.dropped, sub);
      this.parked.delete(sub); // re-insert: the newest goes to the back of the line
      this.parked.set(sub, [header, data]);
      this.timer ??= setInterval(() => this.flush(), 5);
      return;
    }
    this.write(sub, header, data);
  }

  private write(sub: number, header: Uint8Array, payload: ArrayBufferView | ArrayBuffer): void {
    this.ws.send(header, { fin: false });
    this.ws.send(payload, { fin: true });
    this.count(this.stats.sent, sub);
  }

  private flush(): void {
    for (const [sub, [h, p]] of this.parked) {
      if (this.ws.bufferedAmount > this.highWater) return;
      this.parked.delete(sub);
      this.write(sub, h, p);
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private count(into: Record<string, number>, sub: number): void {
    const t = this.topics.get(sub) ?? `#${sub}`;
    into[t] = (into[t] ?? 0) + 1;
  }

  private learn(text: string): void {
    try {
      const m = JSON.parse(text) as { op?: string; subscriptions?: { id: number; channelId: number }[] };
      if (m.op === 'subscribe') for (const s of m.subscriptions ?? []) this.topics.set(s.id, this.topicOf(s.channelId) ?? `#${s.channelId}`);
    } catch {
      // FoxgloveServer reports malformed messages itself
    }
  }
}

interface Feed {
  name: string;
  source: Source;
  defs: ChannelDef[];
  ids: { data: ChannelId; drops: ChannelId; events: ChannelId };
  encoder: MessageEncoder;
  data: Subscription | null;
  events: Subscription | null;
  dropTotals: Record<string, number>;
}

/** A running Foxglove WebSocket server. Get one from {@link serveFoxglove}. */
export class FoxgloveWsServer implements AsyncDisposable {
  private readonly fox: FoxgloveServer;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly feeds: Feed[] = [];
  private readonly clients = new Set<LatestWinsSocket>();
  private readonly tokenDigest: Buffer | null;
  private readonly log: Logger;
  private readonly dropsTimer: NodeJS.Timeout;
  private readonly o: { port: number; host: string; maxClients: number; highWaterBytes: number };
  private nextClient = 1;
  private closed = false;
  /** Connections refused, by reason (`unauthorized`, `too-many-clients`). */
  readonly rejected: Record<string, number> = {};

  private constructor(opts: FoxgloveServeOptions) {
    const host = opts.host ?? '127.0.0.1';
    if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token.length === 0)) throw new InvalidOptionError('token', 'a non-empty string', opts.token);
    if (!LOOPBACK(host) && !opts.token) throw new InvalidOptionError('token', `a non-empty token: serving on ${host} (not loopback) requires one`, opts.token);
    const entries = Object.entries(opts.sources ?? {});
    if (entries.length === 0) throw new InvalidOptionError('sources', 'at least one source to serve ({ name: source })', opts.sources);
    this.o = { port: opts.port ?? 8765, host, maxClients: opts.maxClients ?? 16, highWaterBytes: opts.highWaterBytes ?? 4 << 20 };
    this.tokenDigest = opts.token ? digest(opts.token) : null;
    this.log = resolveLogger(opts, { component: 'foxglove' });
    this.fox = new FoxgloveServer({ name: 'senseflow', capabilities: [], supportedEncodings: ['protobuf', 'json'] });
    const byChannel = new Map<ChannelId, { feed: Feed; role: ChannelDef['role'] }>();
    for (const [name, source] of entries) {
      const defs = channelsFor(name, source.spec); // unsupported formats fail here, naming the valid ones
      const add = (d: ChannelDef) =>
        this.fox.addChannel({
          topic: d.topic,
          encoding: d.messageEncoding,
          schemaName: d.schemaName,
          schemaEncoding: d.schemaEncoding,
          schema: d.schemaEncoding === 'protobuf' ? Buffer.from(d.schemaData).toString('base64') : Buffer.from(d.schemaData).toString('utf8'),
        });
      const feed: Feed = {
        name,
        source,
        defs,
        ids: { data: add(defs[0]), drops: add(defs[1]), events: add(defs[2]) },
        encoder: new MessageEncoder(name, source.spec),
        data: null,
        events: null,
        dropTotals: { ...source.drops() },
      };
      this.feeds.push(feed);
      byChannel.set(feed.ids.data, { feed, role: 'data' });
      byChannel.set(feed.ids.drops, { feed, role: 'drops' });
      byChannel.set(feed.ids.events, { feed, role: 'events' });
    }
    this.fox.on('subscribe', (id) => {
      const c = byChannel.get(id);
      if (c?.role === 'data') this.startData(c.feed);
      if (c?.role === 'events') this.startEvents(c.feed);
    });
    this.fox.on('unsubscribe', (id) => {
      const c = byChannel.get(id);
      if (c?.role === 'data') (c.feed.data?.unsubscribe(), (c.feed.data = null));
      if (c?.role === 'events') (c.feed.events?.unsubscribe(), (c.feed.events = null));
    });
    this.fox.on('error', (e) => this.log.warn({ err: e }, 'client protocol error'));
    const topicOf = (id: number) => {
      const c = byChannel.get(id);
      return c ? c.feed.defs.find((d) => d.role === c.role)?.topic : undefined;
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
    this.dropsTimer = setInterval(() => this.publishDrops(), opts.dropsIntervalMs ?? 1000);
    this.dropsTimer.unref();
  }

  /** @internal */
  static async listen(opts: FoxgloveServeOptions): Promise<FoxgloveWsServer> {
    const s = new FoxgloveWsServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.http.once('error', (e) => reject(new IOError(`cannot listen on ${s.o.host}:${s.o.port}: ${e.message}`, { host: s.o.host, port: s.o.port }, { cause: e })));
      s.http.listen(s.o.port, s.o.host, () => resolve());
    }).catch(async (e) => {
      await s.close();
      throw e;
    });
    s.log.info({ url: s.url, streams: s.feeds.map((f) => f.name) }, 'serving Foxglove WebSocket');
    return s;
  }

  get address(): { host: string; port: number } {
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** `ws://host:port` — what to type into Foxglove's "Open connection" (add `?token=…` when one is set). */
  get url(): string {
    const { host, port } = this.address;
    return `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Connected clients: messages sent and dropped (latest-wins) per topic. */
  clientStats(): FoxgloveClientStats[] {
    return [...this.clients].map((c) => structuredClone(c.stats));
  }

  /** Closes every connection and the listener; the sources stay open (they are the caller's). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.dropsTimer);
    for (const f of this.feeds) {
      f.data?.unsubscribe();
      f.events?.unsubscribe();
    }
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
    await new Promise<void>((r) => this.http.close(() => r()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    const given = url.searchParams.get('token') ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : null);
    return given !== null && timingSafeEqual(digest(given), this.tokenDigest);
  }

  private startData(f: Feed): void {
    if (f.data) return;
    const spec = f.source.spec;
    f.data = (f.source.frames$ as unknown as import('rxjs').Observable<SourceItem>).subscribe({
      next: (item) => {
        let payload: Uint8Array;
        if (item.kind === 'video') payload = f.encoder.video(item.data, item.captureNs, item.width, item.height, item.stride);
        else if (item.kind === 'audio') {
          payload = f.encoder.audio(item.data, item.captureNs);
          if (!item.valid()) return; // lapped while we encoded it: lost (the source counts it), never sent torn
        } else payload = f.encoder.record(item.values, item.seq, item.captureNs);
        this.fox.sendMessage(f.ids.data, item.captureNs, payload);
      },
      error: (e) => this.log.warn({ err: e, stream: f.name, kind: spec.kind }, 'stream ended with an error'),
    });
  }

  private startEvents(f: Feed): void {
    if (f.events) return;
    f.events = f.source.events$.subscribe((ev) => {
      const o = JSON.parse(JSON.stringify(ev, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>;
      this.fox.sendMessage(f.ids.events, ev.atNs, jsonChannelMessage(o));
    });
  }

  /** `/NAME/drops`: one message per cause whose count moved since the last check. */
  private publishDrops(): void {
    const at = monotonicNs();
    for (const f of this.feeds) {
      let now: Record<string, number>;
      try {
        now = f.source.drops();
      } catch {
        continue; // the source was closed by its owner
      }
      for (const [cause, total] of Object.entries(now)) {
        const count = total - (f.dropTotals[cause] ?? 0);
        if (count > 0) this.fox.sendMessage(f.ids.drops, at, jsonChannelMessage({ atNs: String(at), cause, count, total, afterSeq: null }));
      }
      f.dropTotals = now;
    }
  }
}

/**
 * Serves sources over the Foxglove WebSocket protocol: open Foxglove or Lichtblick, "Open connection" →
 * Foxglove WebSocket → `ws://127.0.0.1:8765`. Channels and schemas are those of an MCAP recording
 * (docs/interop.md).
 *
 * @example
 * ```ts
 * const cam = await openTestPattern({ width: 640, height: 480, fps: 30 });
 * const mic = await openTone({ rate: 48000 });
 * const server = await serveFoxglove({ sources: { cam, mic }, port: 8765 });
 * console.log(`connect Foxglove to ${server.url}`);
 * // later: await server.close(); await cam.close(); await mic.close();
 * ```
 */
export function serveFoxglove(opts: FoxgloveServeOptions): Promise<FoxgloveWsServer> {
  return FoxgloveWsServer.listen(opts);
}
