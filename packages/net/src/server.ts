/**
 * `serve()`: the main-thread handle of a network server. The server itself (sockets, clients, ring feeds,
 * JPEG encoding) runs in its own worker (server-worker.ts) that reads the sources' rings directly, so the
 * main thread is never in the data path (docs/threads.md). This side validates options, hands the worker
 * each source's ring and spec, forwards each source's `stats$` once per interval for STATS messages, and
 * answers queries.
 */
import { existsSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { InvalidOptionError, InvalidStateError, type Logger, type LogLevel, type Source } from '@senseflow/core';
import type { CoreOptions } from './server-core.js';
import type { ServerReply, ServerRequest } from './server-worker.js';
import { plain, startServerWorker, WorkerServer } from './worker-server.js';

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
  /** A client must send HELLO (a browser its HTTP request) within this time (default 3000 ms). */
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
  /**
   * Per client: nothing captured longer ago than this is handed to its socket — queued audio/records older
   * than this are dropped and reported as a GAP (`cause: 'too-old'`), video waits for a fresh frame — and its
   * socket backlog is sized to about this much at its measured drain rate (default 1000 ms).
   */
  maxAgeMs?: number;
  /**
   * Offer flow control to clients that ask for it (HELLO `ack: true`, as `connect()`, the dashboard and
   * tools/protocol-client.py do): such a client acknowledges what it consumed and the server keeps the bytes
   * in flight to what it drains in 40 % of `maxAgeMs`, so what it receives is at most `maxAgeMs` old even
   * when it reads far slower than the streams (default true; false: every client is fed as a non-acking one).
   */
  flowControl?: boolean;
  /** Connections that have not completed HELLO (nor sent an HTTP request), in total (default 64); the oldest is evicted when full. */
  maxPending?: number;
  /** …and per remote address (default 8). */
  maxPendingPerAddress?: number;
  /** All connections of one remote address: clients, pending, page loads (default 32). */
  maxConnectionsPerAddress?: number;
  /** Serve the dashboard (default true): its built directory, or false. */
  dashboard?: boolean | string;
  /** The server worker logs at this level (a `logger`'s level is used; the worker has its own pino). */
  logger?: Logger;
  logLevel?: LogLevel;
}

const LOOPBACK = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h);
const DEFAULT_WEB = fileURLToPath(new URL('./web/', import.meta.url));

const posInt = (name: string, v: number | undefined, dflt: number, max = 2 ** 31 - 1): number => {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new InvalidOptionError(name, `an integer from 1 to ${max}`, v);
  return v;
};

const bool = (name: string, v: boolean | undefined, dflt: boolean): boolean => {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new InvalidOptionError(name, 'true or false', v);
  return v;
};

function resolveOptions(opts: ServeOptions): { core: CoreOptions; sources: Source[] } {
  if (!opts || typeof opts !== 'object') throw new InvalidOptionError('options', 'an object with `sources`', opts);
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK(host) && !opts.token) throw new InvalidOptionError('token', `a non-empty token: serving on ${host} (not loopback) requires one`, opts.token);
  if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token.length === 0)) throw new InvalidOptionError('token', 'a non-empty string', opts.token);
  const port = opts.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidOptionError('port', 'an integer from 0 to 65535', port);
  const entries = Array.isArray(opts.sources) ? opts.sources.map((s, i) => [`${s.name}${i}`, s] as const) : Object.entries(opts.sources ?? {});
  if (entries.length === 0) throw new InvalidOptionError('sources', 'at least one source to serve', entries.length);
  if (entries.length > 65535) throw new InvalidOptionError('sources', 'at most 65535 sources', entries.length);
  for (const [name, s] of entries) if (s.state === 'closed') throw new InvalidStateError(`cannot serve '${name}': the source is closed`);
  const dash = opts.dashboard ?? true;
  const root = typeof dash === 'string' ? dash : dash ? DEFAULT_WEB : null;
  const core: CoreOptions = {
    streams: entries.map(([name, s]) => ({ name, definition: s.name, ring: s.ring, spec: s.spec })),
    port,
    host,
    token: opts.token ?? null,
    maxClients: posInt('maxClients', opts.maxClients, 16, 65535),
    maxMessageBytes: posInt('maxMessageBytes', opts.maxMessageBytes, 64 * 1024),
    helloTimeoutMs: posInt('helloTimeoutMs', opts.helloTimeoutMs, 3000),
    idleTimeoutMs: posInt('idleTimeoutMs', opts.idleTimeoutMs, 60_000),
    highWaterBytes: posInt('highWaterBytes', opts.highWaterBytes, 8 * 1024 * 1024),
    queueBytes: posInt('queueBytes', opts.queueBytes, 1024 * 1024),
    jpegQuality: posInt('jpegQuality', opts.jpegQuality, 80, 100),
    statsIntervalMs: posInt('statsIntervalMs', opts.statsIntervalMs, 1000),
    maxAgeMs: posInt('maxAgeMs', opts.maxAgeMs, 1000),
    flowControl: bool('flowControl', opts.flowControl, true),
    maxPending: posInt('maxPending', opts.maxPending, 64),
    maxPendingPerAddress: posInt('maxPendingPerAddress', opts.maxPendingPerAddress, 8),
    maxConnectionsPerAddress: posInt('maxConnectionsPerAddress', opts.maxConnectionsPerAddress, 32),
    webRoot: root && existsSync(root) ? root : null,
    logLevel: opts.logger ? (opts.logger.level as LogLevel) : (opts.logLevel ?? 'silent'),
  };
  return { core, sources: entries.map(([, s]) => s) };
}

/** A running network server. Get one from {@link serve}. */
export class NetServer extends WorkerServer<'clients' | 'queuedBytes' | 'rejected'> {
  private constructor(
    worker: Worker,
    readonly address: { host: string; port: number },
    /** This server's life, as sent in STREAMS (`session`). */
    readonly session: string,
    sources: Source[],
  ) {
    super(worker, 'the server');
    sources.forEach((s, i) => {
      this.subs.push(s.stats$.subscribe({ next: (st) => this.send({ t: 'stats', stream: i, stats: plain(st) } satisfies ServerRequest), error: () => {} }));
    });
  }

  /** @internal */
  static async start(opts: ServeOptions): Promise<NetServer> {
    const { core, sources } = resolveOptions(opts);
    const { worker, listening } = await startServerWorker<Extract<ServerReply, { t: 'listening' }>>(new URL('./server-worker.js', import.meta.url), core, `net-server ${core.host}:${core.port}`);
    return new NetServer(worker, { host: listening.host, port: listening.port }, listening.session, sources);
  }

  /** The dashboard URL (`http://host:port/`); TCP clients use `tcp://host:port`, WebSocket `ws://host:port/ws`. */
  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  }

  /** Connected protocol clients and what each was sent and dropped. */
  clientStats(): Promise<Record<string, unknown>[]> {
    return this.query('clients') as Promise<Record<string, unknown>[]>;
  }

  /** Bytes the server holds for clients (socket buffers + queues): bounded by clients × (high water + queues + one message). */
  queuedBytes(): Promise<number> {
    return this.query('queuedBytes') as Promise<number>;
  }

  /** Connections refused or closed, by reason (diagnostics and tests). */
  rejected(): Promise<Record<string, number>> {
    return this.query('rejected') as Promise<Record<string, number>>;
  }
}

/**
 * Serves sources over the network and the live dashboard, on one port: `http://host:port/` (dashboard),
 * `ws://host:port/ws` (WebSocket) and `tcp://host:port` (raw TCP framing). The server runs in its own
 * worker and reads the sources' rings there. See docs/network.md.
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
  return NetServer.start(opts);
}
