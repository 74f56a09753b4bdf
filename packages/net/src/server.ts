/**
 * The network sink: one port, two transports. A connection whose first bytes are the protocol magic
 * ("SFN1") speaks raw TCP framing; anything else is HTTP — the dashboard's static files and the WebSocket
 * endpoint `/ws`, which carries the same messages, one per binary frame. See docs/protocol.md.
 *
 * Safe by default: binds 127.0.0.1; any other address needs a token; client messages, clients, hello time
 * and idle time are limited; a malformed message closes that connection (with a logged reason) only.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { I64, InvalidOptionError, IOError, monotonicNs, resolveLogger, type Logger, type LogLevel, type Source } from '@senseflow/core';
import { NetClient, type VideoMode } from './client.js';
import { StreamFeed, type BuiltMessage } from './feed.js';
import { decodeMessage, FrameParser, HEADER_BYTES, jsonMessage, MAGIC, MsgType, parseJson, PROTOCOL_VERSION, ProtocolError, type Message } from './codec.js';
import { serveStatic } from './static-files.js';
import { tcpTransport, wsTransport, type Transport } from './transport.js';

export interface ServeOptions {
  /** The streams to serve, by name (`{ cam, mic, stats }`) or as a list (named after each source's plugin). */
  sources: Record<string, Source> | Source[];
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Address to bind (default `127.0.0.1`). Anything but loopback requires `token`. */
  host?: string;
  /** Shared secret every client must send in its HELLO. Required off loopback. */
  token?: string;
  /** Most protocol clients at once (default 16). */
  maxClients?: number;
  /** Largest message a client may send, payload bytes (default 64 KiB). */
  maxMessageBytes?: number;
  /** A client must send HELLO within this time (default 5000 ms). */
  helloTimeoutMs?: number;
  /** A client that sends nothing (not even PING) for this long is closed (default 60 000 ms). */
  idleTimeoutMs?: number;
  /** Per client: stop writing while this many bytes wait in its socket (default 8 MiB). */
  highWaterBytes?: number;
  /** Per client and continuous stream (audio/records): queue bound in bytes (default 1 MiB). */
  queueBytes?: number;
  /** JPEG quality for encoded video (default 80). */
  jpegQuality?: number;
  /** STATS message interval (default 1000 ms). */
  statsIntervalMs?: number;
  /** Serve the dashboard (default true): its built directory, or false. */
  dashboard?: boolean | string;
  logger?: Logger;
  logLevel?: LogLevel;
}

const LOOPBACK = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h);
const digest = (s: string) => createHash('sha256').update(s).digest();
const DEFAULT_WEB = fileURLToPath(new URL('./web/', import.meta.url));

/**
 * A running network sink. Get one from {@link serve}.
 */
export class NetServer implements AsyncDisposable {
  readonly feeds: StreamFeed[] = [];
  private readonly clients = new Set<NetClient>();
  private readonly sockets = new Set<Socket>();
  private readonly tcp: TcpServer;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly sweep: NodeJS.Timeout;
  private readonly statsTimer: NodeJS.Timeout;
  private readonly tokenDigest: Buffer | null;
  private readonly log: Logger;
  private readonly o: Required<Omit<ServeOptions, 'sources' | 'token' | 'dashboard' | 'logger' | 'logLevel'>>;
  private readonly webRoot: string | null;
  private nextClientId = 1;
  private closed = false;
  /** This server's life: sent in STREAMS so a client that reconnects can tell a restarted server (seqs from 0). */
  readonly session = randomUUID();
  /** Connections closed for a protocol violation, by reason (diagnostics and tests). */
  readonly rejected: Record<string, number> = {};

  private constructor(opts: ServeOptions) {
    const host = opts.host ?? '127.0.0.1';
    if (!LOOPBACK(host) && !opts.token)
      throw new InvalidOptionError('token', `a non-empty token: serving on ${host} (not loopback) requires one`, opts.token);
    if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token.length === 0))
      throw new InvalidOptionError('token', 'a non-empty string', opts.token);
    this.o = {
      port: opts.port ?? 8080,
      host,
      maxClients: opts.maxClients ?? 16,
      maxMessageBytes: opts.maxMessageBytes ?? 64 * 1024,
      helloTimeoutMs: opts.helloTimeoutMs ?? 5000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      highWaterBytes: opts.highWaterBytes ?? 8 * 1024 * 1024,
      queueBytes: opts.queueBytes ?? 1024 * 1024,
      jpegQuality: opts.jpegQuality ?? 80,
      statsIntervalMs: opts.statsIntervalMs ?? 1000,
    };
    this.tokenDigest = opts.token ? digest(opts.token) : null;
    this.log = resolveLogger(opts, { component: 'net' });
    const dash = opts.dashboard ?? true;
    const root = typeof dash === 'string' ? dash : dash ? DEFAULT_WEB : null;
    this.webRoot = root && existsSync(root) ? root : null;

    const entries = Array.isArray(opts.sources) ? opts.sources.map((s, i) => [`${s.name}${i}`, s] as const) : Object.entries(opts.sources);
    if (entries.length === 0) throw new InvalidOptionError('sources', 'at least one source to serve', entries.length);
    if (entries.length > 65535) throw new InvalidOptionError('sources', 'at most 65535 sources', entries.length);
    const events = {
      video: (f: StreamFeed, mode: VideoMode, m: BuiltMessage | null) => {
        for (const c of this.clients) c.offerVideo(f, mode, m);
      },
      continuous: (f: StreamFeed, m: BuiltMessage) => {
        for (const c of this.clients) c.offerContinuous(f, m);
      },
    };
    entries.forEach(([name, src], i) => this.feeds.push(new StreamFeed(i + 1, name, src, events, this.o.jpegQuality, this.log)));

    this.wss = new WebSocketServer({ noServer: true, maxPayload: HEADER_BYTES + this.o.maxMessageBytes, perMessageDeflate: false });
    this.http = createHttpServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => serveStatic(this.webRoot, req, res));
    this.http.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/ws' || this.clients.size >= this.o.maxClients) {
        socket.end(`HTTP/1.1 ${path !== '/ws' ? '404 Not Found' : '503 Service Unavailable'}\r\nconnection: close\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket as Socket, head, (ws) => {
        const client = this.addClient(wsTransport(ws, socket as Socket));
        ws.on('message', (data, isBinary) => {
          client.lastRecvAt = Date.now();
          try {
            if (!isBinary) throw new ProtocolError('text WebSocket messages are not part of the protocol');
            this.onMessage(client, decodeMessage(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer), this.o.maxMessageBytes));
          } catch (e) {
            this.reject(client, e);
          }
        });
        ws.on('error', (e) => this.reject(client, new ProtocolError(e.message)));
        ws.on('close', () => this.removeClient(client));
      });
    });

    this.tcp = createNetServer({ noDelay: true }, (socket) => this.onSocket(socket));
    this.tcp.maxConnections = this.o.maxClients + 64; // protocol clients plus a few dashboard page loads
    this.sweep = setInterval(() => this.sweepClients(), 250);
    this.statsTimer = setInterval(() => this.broadcastStats(), this.o.statsIntervalMs);
    this.sweep.unref();
    this.statsTimer.unref();
  }

  /** Starts listening. Rejects with a typed error if the port is taken or an option is invalid. */
  static async listen(opts: ServeOptions): Promise<NetServer> {
    const s = new NetServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.tcp.once('error', (e) => reject(new IOError(`cannot listen on ${s.o.host}:${s.o.port}: ${e.message}`, { host: s.o.host, port: s.o.port }, { cause: e })));
      s.tcp.listen(s.o.port, s.o.host, () => resolve());
    }).catch(async (e) => {
      await s.close();
      throw e;
    });
    s.log.info({ url: s.url, streams: s.feeds.map((f) => f.name) }, 'serving');
    return s;
  }

  get address(): { host: string; port: number } {
    const a = this.tcp.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The dashboard URL (`http://host:port/`); TCP clients use `tcp://host:port`, WebSocket `ws://host:port/ws`. */
  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  }

  /** Connected protocol clients and what each was sent and dropped. */
  clientStats(): Record<string, unknown>[] {
    return [...this.clients].map((c) => c.stats());
  }

  /** Bytes the server holds for clients (socket buffers + queues): bounded by clients × (high water + queues + one message). */
  queuedBytes(): number {
    let n = 0;
    for (const c of this.clients) n += c.queuedBytes();
    return n;
  }

  /** Closes every connection and the listener. The sources stay open (they are the caller's). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    clearInterval(this.statsTimer);
    for (const f of this.feeds) f.close();
    for (const c of this.clients) c.transport.close(true);
    for (const s of this.sockets) s.destroy();
    this.wss.close();
    await new Promise<void>((r) => this.tcp.close(() => r()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Sniffs the first bytes: protocol magic → raw TCP client; anything else → HTTP/WebSocket. */
  private onSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (e) => this.log.debug({ err: e }, 'socket error'));
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.o.helloTimeoutMs);
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      if (head.length < 4 && head[0] === 0x53) return; // could still become "SFN1"
      socket.off('data', onData);
      socket.pause();
      clearTimeout(timer);
      if (head.length >= 4 && head.readUInt32LE(0) === MAGIC) this.startTcpClient(socket, head);
      else {
        socket.unshift(head);
        this.http.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  }

  private startTcpClient(socket: Socket, first: Buffer): void {
    if (this.clients.size >= this.o.maxClients) {
      socket.end(jsonMessage(MsgType.ERROR, { code: 'too-many-clients', message: `the server allows ${this.o.maxClients} clients` }));
      this.count('too-many-clients');
      return;
    }
    const client = this.addClient(tcpTransport(socket));
    const parser = new FrameParser(this.o.maxMessageBytes);
    const onData = (chunk: Buffer) => {
      if (client.state === 'closed') return;
      client.lastRecvAt = Date.now();
      try {
        for (const m of parser.push(chunk)) this.onMessage(client, m);
      } catch (e) {
        this.reject(client, e);
      }
    };
    socket.on('data', onData);
    socket.on('close', () => this.removeClient(client));
    onData(first);
    socket.resume();
  }

  private addClient(t: Transport): NetClient {
    const id = this.nextClientId++;
    const c = new NetClient(id, t, { highWaterBytes: this.o.highWaterBytes, queueBytes: this.o.queueBytes }, this.log.child({ client: id, remote: t.remote, transport: t.kind }));
    this.clients.add(c);
    c.log.debug('connected');
    return c;
  }

  private removeClient(c: NetClient): void {
    if (!this.clients.delete(c)) return;
    c.detach();
    c.log.debug('disconnected');
  }

  private onMessage(c: NetClient, m: Message): void {
    if (c.state === 'closed') return;
    if (c.state === 'hello') {
      if (m.type !== MsgType.HELLO) throw new ProtocolError(`expected HELLO first, got message type ${m.type}`);
      return this.onHello(c, parseJson(m));
    }
    if (m.type === MsgType.PING) return;
    throw new ProtocolError(`unexpected message type ${m.type} from a client`);
  }

  private onHello(c: NetClient, hello: Record<string, unknown>): void {
    if (this.tokenDigest) {
      const t = typeof hello.token === 'string' ? digest(hello.token) : null;
      if (!t || !timingSafeEqual(t, this.tokenDigest)) {
        this.count('unauthorized');
        c.log.warn('rejected: bad or missing token');
        c.write(jsonMessage(MsgType.ERROR, { code: 'unauthorized', message: 'bad or missing token' }));
        this.closeClient(c);
        return;
      }
    }
    const video = hello.video ?? 'jpeg';
    if (video !== 'jpeg' && video !== 'raw') throw new ProtocolError("HELLO `video` must be 'jpeg' or 'raw'");
    let feeds = this.feeds;
    if (hello.streams !== undefined) {
      if (!Array.isArray(hello.streams) || hello.streams.length > 1024) throw new ProtocolError('HELLO `streams` must be a list of stream names or ids');
      feeds = this.feeds.filter((f) => (hello.streams as unknown[]).some((s) => s === f.name || s === f.id));
      const unknown = (hello.streams as unknown[]).filter((s) => !this.feeds.some((f) => s === f.name || s === f.id));
      if (unknown.length) {
        c.write(jsonMessage(MsgType.ERROR, { code: 'unknown-stream', message: `no stream named ${unknown.map(String).join(', ')}`, available: this.feeds.map((f) => f.name) }));
        this.closeClient(c);
        return;
      }
    }
    c.write(
      jsonMessage(MsgType.STREAMS, {
        version: PROTOCOL_VERSION,
        session: this.session,
        streams: feeds.map((f) => ({
          id: f.id,
          name: f.name,
          kind: f.spec.kind,
          encoding: f.passthrough || (video === 'jpeg' && f.jpegCapable) ? 'jpeg' : 'raw',
          firstSeq: firstSeq(f),
          spec: f.spec,
        })),
        limits: { maxMessageBytes: this.o.maxMessageBytes, idleTimeoutMs: this.o.idleTimeoutMs },
      }),
    );
    c.log.info({ streams: feeds.map((f) => f.name), video }, 'client subscribed');
    c.subscribe(feeds, video);
  }

  /** Logs why, tells the client (best effort), and closes only this connection. */
  private reject(c: NetClient, e: unknown): void {
    if (c.state === 'closed') return;
    const reason = e instanceof Error ? e.message : String(e);
    const code = e instanceof ProtocolError ? 'protocol' : 'internal';
    this.count(code);
    c.log.warn({ reason }, 'closing connection: %s', reason);
    if (code === 'internal') this.log.error({ err: e }, 'internal error while serving a client');
    try {
      c.write(jsonMessage(MsgType.ERROR, { code, message: reason }));
    } catch {
      /* the socket is already gone */
    }
    this.closeClient(c);
  }

  private closeClient(c: NetClient): void {
    c.detach();
    c.transport.close(false);
    // Never wait on a client that does not read: drop it for good shortly after.
    setTimeout(() => c.transport.close(true), 1000).unref();
    this.clients.delete(c);
  }

  private count(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  private sweepClients(): void {
    const now = Date.now();
    for (const c of this.clients) {
      if (c.state === 'hello' && now - c.connectedAt > this.o.helloTimeoutMs) {
        this.count('hello-timeout');
        c.log.warn('closing connection: no HELLO in time');
        this.closeClient(c);
      } else if (now - c.lastRecvAt > this.o.idleTimeoutMs) {
        this.count('idle');
        c.log.info('closing idle connection');
        c.write(jsonMessage(MsgType.ERROR, { code: 'idle', message: `nothing received for ${this.o.idleTimeoutMs} ms (send PING)` }));
        this.closeClient(c);
      } else c.flush();
    }
  }

  private broadcastStats(): void {
    const streams: Record<string, unknown> = {};
    for (const f of this.feeds) {
      streams[f.name] = { id: f.id, kind: f.spec.kind, ...(f.lastStats ?? {}), jpeg: { encoded: f.encoded, skipped: f.encoderSkipped } };
    }
    const server = { clients: this.clients.size, rssBytes: process.memoryUsage.rss(), queuedBytes: this.queuedBytes() };
    for (const c of this.clients) {
      if (c.state !== 'streaming' || c.transport.buffered() > this.o.highWaterBytes) continue;
      c.write(jsonMessage(MsgType.STATS, { atMs: Date.now(), monoNs: monotonicNs(), streams, server, connection: c.stats() }));
    }
  }
}

function firstSeq(f: StreamFeed): string {
  const r = f.source.ring;
  const head = Atomics.load(new BigInt64Array(r, 0, 32), I64.WRITE_SEQ); // items (video/records) or chunks (audio) written
  return String(head > 0n ? head - 1n : 0n);
}

/**
 * Serves sources over the network and the live dashboard, on one port: `http://host:port/` (dashboard),
 * `ws://host:port/ws` (WebSocket) and `tcp://host:port` (raw TCP framing). See docs/network.md.
 *
 * @example
 * ```ts
 * const cam = await openTestPattern({ width: 640, height: 480, fps: 30 });
 * const server = await serve({ sources: { cam }, port: 8080 });
 * console.log(`open ${server.url}`);
 * // later: await server.close(); await cam.close();
 * ```
 */
export function serve(opts: ServeOptions): Promise<NetServer> {
  return NetServer.listen(opts);
}
