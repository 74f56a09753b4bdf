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
import { Worker } from 'node:worker_threads';
import type { Subscription } from 'rxjs';
import { deserializeError, InvalidOptionError, InvalidStateError, resolveLogger, type Logger, type LogLevel, type Source } from '@senseflow/core';
import { channelsFor } from '@senseflow/sinks';
import type { FoxgloveCoreOptions } from './core.js';
import type { FoxgloveClientStats } from './latest-wins-socket.js';
import type { FoxgloveReply, FoxgloveRequest } from './worker.js';

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

/** bigint → string, so an event crosses the worker boundary as JSON-safe data (as `/NAME/events` carries it). */
const plain = (v: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) as Record<string, unknown>;

/** A running Foxglove WebSocket server. Get one from {@link serveFoxglove}. */
export class FoxgloveWsServer implements AsyncDisposable {
  private readonly pending = new Map<number, (v: unknown) => void>();
  private nextQuery = 1;
  private readonly subs: Subscription[] = [];
  private closing: Promise<void> | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly address: { host: string; port: number },
    sources: Source[],
    log: Logger,
  ) {
    this.exited = new Promise((r) => worker.once('exit', () => r()));
    worker.on('error', (e) => log.error({ err: e }, 'the Foxglove server worker failed'));
    worker.on('message', (m: FoxgloveReply) => {
      if (m.t === 'answer') {
        this.pending.get(m.id)?.(m.value);
        this.pending.delete(m.id);
      }
    });
    // Events are rare (disconnects, restarts, errors): one message each is the low-rate control path.
    sources.forEach((s, i) => {
      this.subs.push(s.events$.subscribe({ next: (ev) => this.send({ t: 'event', stream: i, atNs: String(ev.atNs), event: plain(ev) }), error: () => {} }));
    });
  }

  /** @internal */
  static async listen(opts: FoxgloveServeOptions): Promise<FoxgloveWsServer> {
    const { core, sources } = resolveOptions(opts);
    const log = resolveLogger(opts, { component: 'foxglove' });
    const worker = new Worker(new URL('./foxglove-worker.js', import.meta.url), { workerData: core, name: `senseflow:foxglove ${core.host}:${core.port}` });
    const first = await new Promise<FoxgloveReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new InvalidStateError(`the Foxglove server worker exited (${code}) before listening`)));
    });
    if (first.t === 'failed') {
      await new Promise((r) => worker.once('exit', r));
      throw deserializeError(first.error);
    }
    if (first.t !== 'listening') throw new InvalidStateError(`unexpected message from the Foxglove server worker: ${first.t}`);
    const server = new FoxgloveWsServer(worker, { host: first.host, port: first.port }, sources, log);
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

  /** Closes every connection, the listener and the worker; the sources stay open (they are the caller's). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.subs) s.unsubscribe();
      this.send({ t: 'close' });
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      await this.worker.terminate();
      for (const done of this.pending.values()) done(undefined);
      this.pending.clear();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private query(what: 'clients' | 'rejected'): Promise<unknown> {
    if (this.closing) return Promise.reject(new InvalidStateError('the Foxglove server is closed'));
    const id = this.nextQuery++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ t: 'query', id, what });
    });
  }

  private send(m: FoxgloveRequest): void {
    if (!this.closing || m.t === 'close') this.worker.postMessage(m);
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
