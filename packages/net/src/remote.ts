/**
 * Streams served by another process or machine, as local {@link Source}s. One connection (TCP or WebSocket)
 * carries every stream asked for; its receive side runs in a worker (receive-worker.ts) that writes each
 * stream into a LOCAL ring (the same ring kinds local sources use) through core's RelayWriter, so frames$,
 * latest(), read(n) and stats$ are the core's own readers and the main thread is not in the data path.
 *
 * Items keep the sender's captureNs; video and records keep the sender's seq within one server life (a
 * restarted server is a new epoch: local seqs continue, the gap is counted). Audio keeps its capture times;
 * its startFrame is the local ring's. Losses on the network path are counted under `drops().network` and
 * flag the next item DISCONTINUITY; a silent stream is reported `stale`.
 */
import { Subject } from 'rxjs';
import { Worker } from 'node:worker_threads';
import {
  deserializeError,
  InvalidOptionError,
  InvalidStateError,
  monotonicNs,
  relayEventToSourceEvent,
  resolveLogger,
  Source,
  TimeoutError,
  type ControlCall,
  type Logger,
  type LogLevel,
  type SourceController,
  type SourceEvent,
  type SourceItem,
  type StreamSpec,
} from '@senseflow/core';
import { parseEndpoint } from './endpoint.js';
import type { ReceiveEvent, ReceiveInit, ReceiveRequest, StreamInfo } from './receive-worker.js';

export interface ConnectOptions {
  /** The server's token (required when the server has one). */
  token?: string;
  /** One stream (name or id): `connect()` returns that stream's Source. */
  stream?: string | number;
  /** Several streams (names or ids), all over one connection: `connect()` returns a map of Sources. */
  streams?: (string | number)[];
  /** Video as the source's raw pixels (default) or as JPEG (`pixelFormat` 'mjpeg'; far less bandwidth). */
  video?: 'raw' | 'jpeg';
  /** Largest message accepted (default 256 MiB). */
  maxMessageBytes?: number;
  /** How long the first connection may take (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect after a lost connection, every ≤ 1 s (default true). */
  reconnect?: boolean;
  /**
   * Flow control (default true): acknowledge what this connection consumed, so the server keeps what is in
   * flight to it within its `maxAgeMs` (docs/network.md, Freshness). false: a non-acking client.
   */
  ack?: boolean;
  /** Keep-alive interval (default 15 s; the server closes idle connections). */
  pingIntervalMs?: number;
  statsIntervalMs?: number;
  logger?: Logger;
  logLevel?: LogLevel;
}

/** A {@link Source} fed from the network. `drops().network` counts what the network path lost. */
export class RemoteSource<I extends SourceItem = SourceItem> extends Source<I> {
  constructor(
    internals: ConstructorParameters<typeof Source>[0],
    private readonly link: RemoteLink,
  ) {
    super(internals);
  }
  /** The server's name for this stream. */
  get remoteName(): string {
    return this.link.info.name;
  }
  /** Bytes received on this stream's connection (shared by every stream on it). */
  get bytesReceived(): number {
    return this.link.conn.bytesReceived;
  }
}

/** Every stream of a connection, by the server's stream name. Closing them all closes the connection. */
export type RemoteSources = Record<string, RemoteSource>;

/** One stream of a connection: plays the part a worker host plays for a local source. */
class RemoteLink implements SourceController {
  readonly events = new Subject<SourceEvent>();
  readonly definition = 'remote';
  wantRunning = true;
  private closed = false;

  constructor(
    readonly conn: RemoteConnection,
    readonly info: StreamInfo,
    readonly spec: StreamSpec,
    readonly sab: SharedArrayBuffer,
  ) {}

  /**
   * Start/stop gate writing into the ring (and the staleness watch); there are no device controls. Either
   * resolves once the receive worker applied it: after stop() no item enters the ring, an in-flight one
   * included.
   */
  async request(call: ControlCall): Promise<unknown> {
    switch (call.t) {
      case 'start':
      case 'stop':
        this.wantRunning = call.t === 'start';
        await this.conn.run(this.info.id, this.wantRunning);
        return undefined;
      case 'listControls':
        return [];
      default:
        throw new InvalidStateError(`'${call.t}' is not available on a remote source`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.release(this);
    this.events.next({ type: 'closed', atNs: monotonicNs() });
    this.events.complete();
  }
}

/** How long a start/stop may wait for the receive worker (it answers within a turn of its event loop). */
const RUN_ACK_TIMEOUT_MS = 10_000;

/** The main-thread end of one connection: its worker, and the streams it feeds. */
class RemoteConnection {
  readonly links = new Map<number, RemoteLink>();
  private readonly counters = new SharedArrayBuffer(8);
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** `run` requests waiting for the worker's acknowledgement, by id. */
  private readonly acks = new Map<number, { on: boolean; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;

  constructor(init: Omit<ReceiveInit, 'counters'>) {
    this.worker = new Worker(new URL('./receive-worker.js', import.meta.url), { workerData: { ...init, counters: this.counters }, name: `senseflow:net-receive ${init.url}` });
    this.exited = new Promise((r) =>
      this.worker.once('exit', () => {
        // The worker writes no ring any more: a stop is done, a start cannot be.
        for (const [id, a] of this.acks) {
          clearTimeout(a.timer);
          if (a.on) a.reject(new InvalidStateError('the connection is closed'));
          else a.resolve();
          this.acks.delete(id);
        }
        r();
      }),
    );
  }

  get bytesReceived(): number {
    return new Float64Array(this.counters)[0];
  }

  /** Waits for the server's stream list (or its refusal, or the timeout) and makes a link per stream. */
  async open(timeoutMs: number, url: string): Promise<void> {
    const first = await new Promise<ReceiveEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`no answer from ${url} within ${timeoutMs} ms`, { url })), timeoutMs);
      this.worker.once('message', (m: ReceiveEvent) => (clearTimeout(timer), resolve(m)));
      this.worker.once('error', (e) => (clearTimeout(timer), reject(e)));
    }).catch(async (e: unknown) => {
      await this.shutdown();
      throw e;
    });
    if (first.t === 'refused') {
      await this.shutdown();
      throw deserializeError(first.error);
    }
    if (first.t !== 'streams') throw new InvalidStateError(`unexpected first message from the receive worker: ${first.t}`);
    for (const s of first.streams) this.links.set(s.info.id, new RemoteLink(this, s.info, s.spec, s.sab));
    this.worker.on('message', (m: ReceiveEvent) => this.onEvent(m));
  }

  send(m: ReceiveRequest): void {
    this.worker.postMessage(m);
  }

  /** Turns a stream's writing on or off; resolves when the receive worker has applied it. */
  run(stream: number, on: boolean, timeoutMs = RUN_ACK_TIMEOUT_MS): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new TimeoutError(`the receive worker did not apply '${on ? 'start' : 'stop'}' within ${timeoutMs} ms`, { stream }));
      }, timeoutMs);
      this.acks.set(id, { on, resolve, reject, timer });
      this.send({ t: 'run', stream, on, id });
    });
  }

  /** A stream's Source closed: its ring is closed; the last one closes the connection. */
  async release(link: RemoteLink): Promise<void> {
    this.links.delete(link.info.id);
    this.send({ t: 'release', stream: link.info.id });
    if (this.links.size === 0) await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.worker.postMessage({ t: 'close' } satisfies ReceiveRequest);
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate();
  }

  private onEvent(m: ReceiveEvent): void {
    const all = (e: SourceEvent) => {
      for (const l of this.links.values()) l.events.next(e);
    };
    switch (m.t) {
      case 'ran': {
        const a = this.acks.get(m.id);
        if (!a) return;
        this.acks.delete(m.id);
        clearTimeout(a.timer);
        return a.resolve();
      }
      case 'relay':
        this.links.get(m.stream)?.events.next(relayEventToSourceEvent(m.event, m.atNs));
        return;
      case 'disconnected':
        return all({ type: 'disconnected', atNs: m.atNs, reason: m.reason });
      case 'reconnected':
        return all({ type: 'reconnected', atNs: m.atNs });
      case 'error':
        return all({ type: 'error', atNs: m.atNs, error: m.error });
    }
  }
}

function checkOptions(url: string | URL, opts: ConnectOptions): URL {
  const u = parseEndpoint(url);
  if (opts.ack !== undefined && typeof opts.ack !== 'boolean') throw new InvalidOptionError('ack', 'true or false', opts.ack);
  if (opts.video !== undefined && opts.video !== 'raw' && opts.video !== 'jpeg') throw new InvalidOptionError('video', "one of 'raw', 'jpeg'", opts.video);
  if (opts.stream !== undefined && opts.streams !== undefined) throw new InvalidOptionError('streams', 'either `stream` (one Source) or `streams` (a map), not both', opts.streams);
  if (opts.streams !== undefined && (!Array.isArray(opts.streams) || opts.streams.length === 0 || opts.streams.some((s) => typeof s !== 'string' && typeof s !== 'number')))
    throw new InvalidOptionError('streams', 'a non-empty list of stream names or ids', opts.streams);
  return u;
}

async function openConnection(u: URL, opts: ConnectOptions, want: (string | number)[] | null): Promise<{ conn: RemoteConnection; log: Logger }> {
  const log = resolveLogger(opts, { component: 'remote', url: u.href });
  const conn = new RemoteConnection({
    url: u.href,
    token: opts.token,
    streams: want,
    video: opts.video ?? 'raw',
    maxMessageBytes: opts.maxMessageBytes ?? 256 * 1024 * 1024,
    reconnect: opts.reconnect ?? true,
    ack: opts.ack ?? true,
    pingIntervalMs: opts.pingIntervalMs ?? 15_000,
    logLevel: opts.logger ? (opts.logger.level as LogLevel) : (opts.logLevel ?? 'silent'),
  });
  await conn.open(opts.connectTimeoutMs ?? 10_000, u.href);
  return { conn, log };
}

// A stream is running from the moment it is connected (the link starts with wantRunning); start() makes
// the Source's state say so (it is otherwise 'stopped' until a start()) and is idempotent on the server.
const sourceOf = async (link: RemoteLink, log: Logger, opts: ConnectOptions) => {
  const src = new RemoteSource({ host: link, log: log.child({ stream: link.info.name }), statsIntervalMs: opts.statsIntervalMs ?? 1000 }, link);
  await src.start();
  return src;
};

/**
 * Connects to a senseflow server. With `stream`, returns that stream as a {@link Source} with the same API
 * as a local one (frames$, latest(), read(n), stats$, spec, close), seq and captureNs preserved. Without it
 * (or with `streams: [...]`), returns every stream (or the named ones) as a map of Sources by name, all
 * over ONE connection; the connection closes when the last of them is closed.
 *
 * @param url `tcp://host:port` or `ws://host:port/ws`
 * @example
 * ```ts
 * const cam = await connect('tcp://127.0.0.1:8080', { stream: 'video', token: process.env.SENSEFLOW_TOKEN });
 * cam.frames$.subscribe((f) => console.log(f.seq, f.captureNs, f.width, f.height));
 *
 * const { video, audio } = await connect('ws://127.0.0.1:8080/ws'); // every stream, one connection
 * ```
 */
export async function connect<I extends SourceItem = SourceItem>(url: string | URL, opts: ConnectOptions & { stream: string | number }): Promise<RemoteSource<I>>;
export async function connect(url: string | URL, opts?: ConnectOptions): Promise<RemoteSources>;
export async function connect(url: string | URL, opts: ConnectOptions = {}): Promise<RemoteSource | RemoteSources> {
  const u = checkOptions(url, opts);
  const one = opts.stream !== undefined;
  const { conn, log } = await openConnection(u, opts, one ? [opts.stream!] : (opts.streams ?? null));
  const links = [...conn.links.values()];
  if (one) {
    const link = links.find((l) => l.info.name === opts.stream || l.info.id === opts.stream);
    if (!link) {
      await Promise.all(links.map((l) => l.close()));
      throw new InvalidOptionError('stream', `one of ${links.map((l) => l.info.name).join(', ') || '(none served)'}`, opts.stream);
    }
    return sourceOf(link, log, opts);
  }
  const out: RemoteSources = {};
  for (const l of links) out[l.info.name] = await sourceOf(l, log, opts);
  return out;
}
