/**
 * The network server itself, running in its own worker (see server.ts for the main-thread handle): one
 * port, two transports. A connection whose first bytes are the protocol magic ("SFN1") speaks raw TCP
 * framing; anything else is HTTP — the dashboard's static files and the WebSocket endpoint `/ws`, which
 * carries the same messages, one per binary frame. See docs/protocol.md.
 *
 * Safe by default: binds 127.0.0.1; any other address needs a token; client messages, clients, hello time
 * and idle time are limited; a malformed message closes that connection (with a logged reason) only.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { IOError, monotonicNs, resolveLogger, type Logger, type LogLevel } from '@senseflow/core';
import { NetClient, type VideoMode } from './client.js';
import { StreamFeed, type BuiltMessage, type FeedSource } from './feed.js';
import { decodeMessage, FrameParser, HEADER_BYTES, jsonMessage, MAGIC, MsgType, parseJson, PROTOCOL_VERSION, ProtocolError, type Message } from './codec.js';
import { serveStatic } from './static-files.js';
import { Admission } from './admission.js';
import { ACK_BYTES, ACK_INTERVAL_MS } from './flow.js';
import { remoteOf, tcpTransport, wsTransport, type Transport } from './transport.js';

/** The server's settings, resolved and validated on the main thread (server.ts), as the worker gets them. */
export interface CoreOptions {
  streams: FeedSource[];
  port: number;
  host: string;
  token: string | null;
  maxClients: number;
  maxMessageBytes: number;
  helloTimeoutMs: number;
  idleTimeoutMs: number;
  highWaterBytes: number;
  queueBytes: number;
  jpegQuality: number;
  statsIntervalMs: number;
  /** Per client: the oldest video or audio it is sent, by capture time (ms). */
  maxAgeMs: number;
  /** Offer flow control (ACKs) to clients that ask for it in HELLO. */
  flowControl: boolean;
  /** Connections that have not completed HELLO (or an HTTP request): in total, per address, and their deadline. */
  maxPending: number;
  maxPendingPerAddress: number;
  /** Every connection of one remote address (pending, clients, page loads). */
  maxConnectionsPerAddress: number;
  /** The dashboard's built directory, or null. */
  webRoot: string | null;
  logLevel: LogLevel;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ServerCore {
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
  private readonly webRoot: string | null;
  private readonly admission: Admission;
  private nextClientId = 1;
  private closed = false;
  /** This server's life: sent in STREAMS so a client that reconnects can tell a restarted server (seqs from 0). */
  readonly session = randomUUID();
  /** Connections closed for a protocol violation, by reason (diagnostics and tests). */
  readonly rejected: Record<string, number> = {};

  constructor(private readonly o: CoreOptions) {
    this.tokenDigest = o.token ? digest(o.token) : null;
    this.log = resolveLogger({ logLevel: o.logLevel }, { component: 'net', thread: 'server-worker' });
    this.webRoot = o.webRoot;
    this.admission = new Admission(
      { maxPending: o.maxPending, maxPendingPerAddress: o.maxPendingPerAddress, maxPerAddress: o.maxConnectionsPerAddress, pendingTimeoutMs: o.helloTimeoutMs },
      (reason) => {
        this.count(reason);
        this.log.debug({ reason }, 'connection refused before HELLO');
      },
    );
    const events = {
      video: (f: StreamFeed, mode: VideoMode, m: BuiltMessage | null) => {
        for (const c of this.clients) c.offerVideo(f, mode, m);
      },
      continuous: (f: StreamFeed, m: BuiltMessage) => {
        for (const c of this.clients) c.offerContinuous(f, m);
      },
      lost: (f: StreamFeed, units: number) => {
        for (const c of this.clients) c.offerLoss(f, units);
      },
    };
    o.streams.forEach((src, i) => this.feeds.push(new StreamFeed(i + 1, src.name, src, events, o.jpegQuality, this.log)));

    // ws enforces the size from each frame's header (before buffering it); the limit is one protocol message.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: HEADER_BYTES + this.o.maxMessageBytes, perMessageDeflate: false });
    // This HTTP server never listens (sockets are handed to it after sniffing), so Node's own header and
    // request timeouts never run: the pending deadline (admission) and REQUEST_TIMEOUT_MS below do that job.
    this.http = createHttpServer({ keepAlive: false }, (req, res) => {
      this.admission.settle(req.socket as Socket);
      const t = setTimeout(() => req.socket.destroy(), REQUEST_TIMEOUT_MS);
      res.once('close', () => clearTimeout(t));
      res.shouldKeepAlive = false; // one request per connection: a kept-alive socket would be pending again, unbounded
      serveStatic(this.webRoot, req, res);
    });
    this.http.on('upgrade', (req, socket: Socket, head) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/ws') return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      // RFC 6455 is version 13; older drafts (ws also speaks 8) are refused.
      if (req.headers['sec-websocket-version'] !== '13') {
        this.count('ws-version');
        return void socket.end('HTTP/1.1 426 Upgrade Required\r\nsec-websocket-version: 13\r\nconnection: close\r\n\r\n');
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const client = this.addClient(wsTransport(ws, socket));
        // An oversize message: say why with a protocol ERROR before ws closes with 1009 (its listener runs after ours).
        (ws as unknown as { _receiver: NodeJS.EventEmitter })._receiver.prependListener('error', (e: Error & { code?: string }) => {
          if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.reject(client, new ProtocolError(`message exceeds the limit of ${this.o.maxMessageBytes} payload bytes`, { code: 'too-large' }));
        });
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
    this.sweep = setInterval(() => this.sweepClients(), 250);
    this.statsTimer = setInterval(() => this.broadcastStats(), this.o.statsIntervalMs);
    this.sweep.unref();
    this.statsTimer.unref();
  }

  /** Starts listening. Rejects with a typed error if the port is taken. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', (e) => reject(new IOError(`cannot listen on ${this.o.host}:${this.o.port}: ${e.message}`, { host: this.o.host, port: this.o.port }, { cause: e })));
      this.tcp.listen(this.o.port, this.o.host, () => resolve());
    });
    this.log.info({ url: this.url, streams: this.feeds.map((f) => f.name) }, 'serving');
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

  private streamingClients(): number {
    let n = 0;
    for (const c of this.clients) if (c.state === 'streaming') n++;
    return n;
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
    this.admission.close();
    for (const c of this.clients) c.transport.close(true);
    for (const s of this.sockets) s.destroy();
    this.wss.close();
    await Promise.all([new Promise<void>((r) => this.tcp.close(() => r())), ...this.feeds.map((f) => f.close())]);
  }

  /** Admits (or refuses) the socket, then sniffs the first bytes: protocol magic → raw TCP client; anything else → HTTP/WebSocket. */
  private onSocket(socket: Socket): void {
    if (this.closed || !this.admission.admit(socket)) return void socket.destroy();
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (e) => this.log.debug({ err: e }, 'socket error'));
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      if (head.length < 4 && isMagicPrefix(head)) return; // could still become "SFN1"
      socket.off('data', onData);
      socket.pause();
      if (head.length >= 4 && head.readUInt32LE(0) === MAGIC) this.startTcpClient(socket, head);
      else if (head[0] === 0x53 && head[1] === 0x46) {
        // "SF…" but not "SFN1": a senseflow client of another protocol version, or a corrupt stream.
        this.count('bad-magic');
        this.log.warn({ remote: remoteOf(socket) }, 'closing connection: bad magic');
        socket.end(jsonMessage(MsgType.ERROR, { code: 'bad-magic', message: 'bad magic: this server speaks senseflow protocol v1 ("SFN1")' }));
        setTimeout(() => socket.destroy(), 1000).unref();
      } else {
        socket.unshift(head);
        this.http.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  }

  private startTcpClient(socket: Socket, first: Buffer): void {
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
    const c = new NetClient(id, t, { highWaterBytes: this.o.highWaterBytes, queueBytes: this.o.queueBytes, maxAgeMs: this.o.maxAgeMs }, this.log.child({ client: id, remote: t.remote, transport: t.kind }));
    this.clients.add(c);
    // Still pending (admission): no HELLO by the deadline → told why, then closed. It holds no client slot yet.
    this.admission.onTimeout(t.socket, () => {
      this.count('hello-timeout');
      c.log.warn('closing connection: no HELLO in time');
      c.write(jsonMessage(MsgType.ERROR, { code: 'hello-timeout', message: `no HELLO within ${this.o.helloTimeoutMs} ms` }));
      this.closeClient(c);
    });
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
      if (m.stream !== 0) throw new ProtocolError(`HELLO is a connection message: its stream id must be 0, not ${m.stream}`);
      return this.onHello(c, parseJson(m));
    }
    if (m.type === MsgType.PING) {
      if (m.payloadBytes !== 0 || m.stream !== 0) throw new ProtocolError('PING carries no payload and stream id 0');
      return;
    }
    if (m.type === MsgType.ACK) {
      if (m.payloadBytes !== 0 || m.stream !== 0) throw new ProtocolError('ACK carries no payload and stream id 0 (the count is in seq)');
      return c.onAck(m.seq);
    }
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
    if (hello.ack !== undefined && typeof hello.ack !== 'boolean') throw new ProtocolError('HELLO `ack` must be true or false');
    const ack = hello.ack === true && this.o.flowControl;
    let feeds = this.feeds;
    if (hello.streams !== undefined) {
      if (!Array.isArray(hello.streams) || hello.streams.length === 0 || hello.streams.length > 1024)
        throw new ProtocolError('HELLO `streams` must be a non-empty list of stream names or ids (omit it for every stream)');
      feeds = this.feeds.filter((f) => (hello.streams as unknown[]).some((s) => s === f.name || s === f.id));
      const unknown = (hello.streams as unknown[]).filter((s) => !this.feeds.some((f) => s === f.name || s === f.id));
      if (unknown.length) {
        c.write(jsonMessage(MsgType.ERROR, { code: 'unknown-stream', message: `no stream named ${unknown.map(String).join(', ')}`, available: this.feeds.map((f) => f.name) }));
        this.closeClient(c);
        return;
      }
    }
    if (this.streamingClients() >= this.o.maxClients) {
      this.count('too-many-clients');
      c.log.warn('rejected: too many clients');
      c.write(jsonMessage(MsgType.ERROR, { code: 'too-many-clients', message: `the server allows ${this.o.maxClients} clients` }));
      this.closeClient(c);
      return;
    }
    this.admission.settle(c.transport.socket);
    const first = new Map(feeds.map((f) => [f.id, firstSeq(f)]));
    c.write(
      jsonMessage(MsgType.STREAMS, {
        version: PROTOCOL_VERSION,
        session: this.session,
        streams: feeds.map((f) => ({
          id: f.id,
          name: f.name,
          kind: f.spec.kind,
          encoding: f.passthrough || (video === 'jpeg' && f.jpegCapable) ? 'jpeg' : 'raw',
          firstSeq: String(first.get(f.id)),
          spec: f.spec,
        })),
        limits: { maxMessageBytes: this.o.maxMessageBytes, idleTimeoutMs: this.o.idleTimeoutMs, maxAgeMs: this.o.maxAgeMs },
        // Present only when the client asked for flow control and it is on: the client then sends ACKs at this cadence.
        ...(ack ? { ack: { intervalMs: ACK_INTERVAL_MS, bytes: ACK_BYTES } } : {}),
      }),
    );
    c.log.info({ streams: feeds.map((f) => f.name), video, ack }, 'client subscribed');
    c.subscribe(feeds, video, first, ack);
  }

  /** Logs why, tells the client (best effort), and closes only this connection. */
  private reject(c: NetClient, e: unknown): void {
    if (c.state === 'closed') return;
    const reason = e instanceof Error ? e.message : String(e);
    const code = e instanceof ProtocolError ? (((e.details as Record<string, unknown> | undefined)?.code as string | undefined) ?? 'protocol') : 'internal';
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
      if (c.state === 'streaming' && now - c.lastRecvAt > this.o.idleTimeoutMs) {
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
    const server = { clients: this.streamingClients(), pending: this.admission.pendingCount, rssBytes: process.memoryUsage.rss(), queuedBytes: this.queuedBytes() };
    // STATS go to every client, backed up or not: they are small, and a slow client needs them most.
    for (const c of this.clients) {
      if (c.state !== 'streaming') continue;
      c.write(jsonMessage(MsgType.STATS, { atMs: Date.now(), monoNs: monotonicNs(), streams, server, connection: c.stats() }));
    }
  }
}

/** The seq a new client's stream starts at: the newest item now (video/records: items; audio: chunks). */
function firstSeq(f: StreamFeed): bigint {
  const newest = f.newestSeq();
  return newest > 0n ? newest : 0n;
}

/** A page load or WebSocket request may take this long once its headers arrived. */
const REQUEST_TIMEOUT_MS = 30_000;

const isMagicPrefix = (b: Buffer) => b.every((x, i) => x === [0x53, 0x46, 0x4e, 0x31][i]);

