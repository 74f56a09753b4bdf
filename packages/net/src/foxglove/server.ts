/**
 * The Foxglove WebSocket server: serves senseflow sources to Foxglove and Lichtblick (and any
 * @foxglove/ws-protocol client) with the same channels and schemas as an MCAP recording. This file is its
 * main-thread handle; the server itself (core.ts: listener, FoxgloveServer, clients, ring reading and
 * encoding) runs in its own worker (worker.ts), so the main thread is never in the data path
 * (docs/threads.md). This side validates options, hands the worker each source's ring and spec, forwards
 * each source's events (rare) for `/NAME/events`, and answers queries. What it adds to the protocol:
 * - latest-wins per client: a client whose socket is backed up keeps only the newest message per
 *   subscription, older ones are dropped and counted (never an unbounded queue);
 * - safe defaults as for `serve`: binds 127.0.0.1, any other address needs a token (`?token=` in the URL
 *   or `Authorization: Bearer`), a bounded number of clients;
 * - a source's ring is read only while some client subscribes to its channel.
 */
import type { Worker } from 'node:worker_threads';
import { InvalidOptionError, InvalidStateError, resolveLogger, type Logger, type LogLevel, type Source } from '@senseflow/core';
import { channelsFor } from '@senseflow/sinks';
import type { FoxgloveCoreOptions } from './core.js';
import type { FoxgloveClientStats } from './latest-wins-socket.js';
import type { FoxgloveReply, FoxgloveRequest } from './worker.js';
import { plain, startServerWorker, WorkerServer } from '../worker-server.js';

export type { FoxgloveClientStats } from './latest-wins-socket.js';

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
  /** The server's worker logs at this level (a `logger`'s level is used; the worker has its own pino). */
  logger?: Logger;
  logLevel?: LogLevel;
}

const LOOPBACK = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h);

const posInt = (name: string, v: number | undefined, dflt: number, max = 2 ** 31 - 1): number => {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new InvalidOptionError(name, `an integer from 1 to ${max}`, v);
  return v;
};

function resolveOptions(opts: FoxgloveServeOptions): { core: FoxgloveCoreOptions; sources: Source[] } {
  if (!opts || typeof opts !== 'object') throw new InvalidOptionError('options', 'an object with `sources`', opts);
  const host = opts.host ?? '127.0.0.1';
  if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token.length === 0)) throw new InvalidOptionError('token', 'a non-empty string', opts.token);
  if (!LOOPBACK(host) && !opts.token) throw new InvalidOptionError('token', `a non-empty token: serving on ${host} (not loopback) requires one`, opts.token);
  const port = opts.port ?? 8765;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidOptionError('port', 'an integer from 0 to 65535', port);
  const entries = Object.entries(opts.sources ?? {});
  if (entries.length === 0) throw new InvalidOptionError('sources', 'at least one source to serve ({ name: source })', opts.sources);
  for (const [name, s] of entries) {
    if (s?.state === 'closed') throw new InvalidStateError(`cannot serve '${name}': the source is closed`);
    if (!(s?.ring instanceof SharedArrayBuffer) || !s.spec) throw new InvalidOptionError(`sources.${name}`, 'an open senseflow Source', s);
    channelsFor(name, s.spec); // unsupported formats fail here, naming the valid ones
  }
  const core: FoxgloveCoreOptions = {
    streams: entries.map(([name, s]) => ({ name, ring: s.ring, spec: s.spec })),
    port,
    host,
    token: opts.token ?? null,
    maxClients: posInt('maxClients', opts.maxClients, 16, 65535),
    highWaterBytes: posInt('highWaterBytes', opts.highWaterBytes, 4 << 20),
    dropsIntervalMs: posInt('dropsIntervalMs', opts.dropsIntervalMs, 1000),
    logLevel: opts.logger ? (opts.logger.level as LogLevel) : (opts.logLevel ?? 'silent'),
  };
  return { core, sources: entries.map(([, s]) => s) };
}

/** A running Foxglove WebSocket server. Get one from {@link serveFoxglove}. */
export class FoxgloveWsServer extends WorkerServer<'clients' | 'rejected'> {
  private constructor(
    worker: Worker,
    readonly address: { host: string; port: number },
    sources: Source[],
    log: Logger,
  ) {
    super(worker, 'the Foxglove server');
    worker.on('error', (e) => log.error({ err: e }, 'the Foxglove server worker failed'));
    // Events are rare (disconnects, restarts, errors): one message each is the low-rate control path.
    sources.forEach((s, i) => {
      this.subs.push(s.events$.subscribe({ next: (ev) => this.send({ t: 'event', stream: i, atNs: String(ev.atNs), event: plain(ev) } satisfies FoxgloveRequest), error: () => {} }));
    });
  }

  /** @internal */
  static async listen(opts: FoxgloveServeOptions): Promise<FoxgloveWsServer> {
    const { core, sources } = resolveOptions(opts);
    const log = resolveLogger(opts, { component: 'foxglove' });
    const { worker, listening } = await startServerWorker<Extract<FoxgloveReply, { t: 'listening' }>>(new URL('./foxglove-worker.js', import.meta.url), core, `foxglove ${core.host}:${core.port}`);
    const server = new FoxgloveWsServer(worker, { host: listening.host, port: listening.port }, sources, log);
    log.info({ url: server.url, streams: core.streams.map((s) => s.name) }, 'serving Foxglove WebSocket');
    return server;
  }

  /** `ws://host:port` — what to type into Foxglove's "Open connection" (add `?token=…` when one is set). */
  get url(): string {
    const { host, port } = this.address;
    return `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Connected clients: messages sent and dropped (latest-wins) per topic. */
  clientStats(): Promise<FoxgloveClientStats[]> {
    return this.query('clients') as Promise<FoxgloveClientStats[]>;
  }

  /** Connections refused, by reason (`unauthorized`, `too-many-clients`). */
  rejected(): Promise<Record<string, number>> {
    return this.query('rejected') as Promise<Record<string, number>>;
  }
}

/**
 * Serves sources over the Foxglove WebSocket protocol: open Foxglove or Lichtblick, "Open connection" →
 * Foxglove WebSocket → `ws://127.0.0.1:8765`. Channels and schemas are those of an MCAP recording
 * (docs/interop.md). The server runs in its own worker and reads the sources' rings there.
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
