/**
 * A stream served by another process or machine, as a local {@link Source}: received items are written into
 * a LOCAL ring (the same ring kinds local sources use), so frames$, latest(), read(n) and stats$ are the
 * core's own readers. Video and records keep the sender's seq (the ring's sequence is advanced to it, so a
 * network loss shows up as a gap); every item keeps the sender's captureNs. Audio chunks keep their capture
 * times; their startFrame is the local ring's, and lost frames are counted. Losses on the network path are
 * counted under `drops().network` and flag the next item DISCONTINUITY.
 */
import { Subject } from 'rxjs';
import {
  createRingForSpec,
  FrameRingWriter,
  RelayWriter,
  relayEventToSourceEvent,
  InvalidOptionError,
  InvalidStateError,
  IOError,
  monotonicNs,
  resolveLogger,
  RingState,
  SampleRingWriter,
  Source,
  TimeoutError,
  DisconnectedError,
  type Logger,
  type LogLevel,
  type ControlCall,
  type SourceController,
  type SourceEvent,
  type SourceInternals,
  type SourceItem,
  type StreamSpec,
} from '@senseflow/core';
import { openConnection, parseEndpoint, type ClientConnection } from './connection.js';
import { emptyMessage, jsonMessage, MsgType, parseJson, type Message } from './codec.js';

export interface ConnectOptions {
  /** The server's token (required when the server has one). */
  token?: string;
  /** Which stream (name or id); default the first one the server lists. */
  stream?: string | number;
  /** Video as the source's raw pixels (default) or as JPEG (`pixelFormat` 'mjpeg'; far less bandwidth). */
  video?: 'raw' | 'jpeg';
  /** Largest message accepted (default 256 MiB). */
  maxMessageBytes?: number;
  /** How long the first connection may take (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect after a lost connection, with backoff (default true). */
  reconnect?: boolean;
  /** Keep-alive interval (default 15 s; the server closes idle connections). */
  pingIntervalMs?: number;
  statsIntervalMs?: number;
  logger?: Logger;
  logLevel?: LogLevel;
}

interface StreamInfo {
  id: number;
  name: string;
  kind: StreamSpec['kind'];
  encoding: 'raw' | 'jpeg';
  firstSeq: string;
  spec: StreamSpec;
}

/** A {@link Source} fed from the network. `drops().network` counts what the network path lost. */
export class RemoteSource<I extends SourceItem = SourceItem> extends Source<I> {
  constructor(
    internals: SourceInternals,
    private readonly link: RemoteLink,
  ) {
    super(internals);
  }
  /** The server's name for this stream. */
  get remoteName(): string {
    return this.link.info.name;
  }
  /** Bytes received on this stream's connection. */
  get bytesReceived(): number {
    return this.link.bytesReceived;
  }
}

/** Owns the connection and the ring writer; plays the part a worker host plays for a local source. */
class RemoteLink implements SourceController {
  readonly events = new Subject<SourceEvent>();
  readonly definition = 'remote';
  sab!: SharedArrayBuffer;
  spec!: StreamSpec;
  info!: StreamInfo;
  wantRunning = true;
  bytesReceived = 0;
  private conn: ClientConnection | null = null;
  private relay: RelayWriter | null = null;
  /** The server's life (STREAMS `session`): a new one means its seqs started over. */
  private session: string | undefined;
  private closing = false;
  private everOpen = false;
  private ping: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    private readonly url: URL,
    private readonly o: ConnectOptions,
    private readonly log: Logger,
  ) {}

  /** Connects and waits for the server's stream list; allocates the ring on the first success. */
  open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.conn?.close();
        reject(e);
      };
      const timer = setTimeout(() => fail(new TimeoutError(`no answer from ${this.url.href} within ${this.o.connectTimeoutMs ?? 10_000} ms`, { url: this.url.href })), this.o.connectTimeoutMs ?? 10_000);
      this.dial((m) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (m instanceof Error) return reject(m);
        resolve();
      }, fail);
    });
  }

  private dial(onStreams: (r: Error | null) => void, onFail: (e: Error) => void): void {
    const maxPayload = this.o.maxMessageBytes ?? 256 * 1024 * 1024;
    let answered = false;
    this.conn = openConnection(this.url, maxPayload, {
      onOpen: () => {
        const hello: Record<string, unknown> = { token: this.o.token, video: this.o.video ?? 'raw' };
        if (this.o.stream !== undefined) hello.streams = [this.o.stream];
        this.conn!.send(jsonMessage(MsgType.HELLO, hello));
      },
      onMessage: (m) => {
        this.bytesReceived += m.payload.byteLength + 56;
        if (!answered) {
          if (m.type === MsgType.ERROR) return onFail(serverError(parseJson(m)));
          if (m.type !== MsgType.STREAMS) return;
          answered = true;
          try {
            this.onStreams(parseJson(m));
          } catch (e) {
            this.conn?.close();
            return onStreams(e as Error);
          }
          return onStreams(null);
        }
        this.onData(m);
      },
      onClose: (reason) => {
        if (!answered) return onFail(new IOError(`cannot connect to ${this.url.href}: ${reason}`, { url: this.url.href }));
        this.lost(reason);
      },
    });
  }

  private onStreams(body: Record<string, unknown>): void {
    const list = (body.streams ?? []) as StreamInfo[];
    const want = this.o.stream;
    const info = want === undefined ? list[0] : list.find((s) => s.name === want || s.id === want);
    if (!info) throw new InvalidOptionError('stream', `one of ${list.map((s) => s.name).join(', ') || '(none served)'}`, want);
    if (!this.everOpen) {
      this.info = info;
      this.spec = localSpec(info);
      this.sab = createRingForSpec(this.spec);
      const writer = this.spec.kind === 'audio' ? new SampleRingWriter(this.sab) : new FrameRingWriter(this.sab);
      this.relay = new RelayWriter(writer, { spec: this.spec, onEvent: (e) => this.events.next(relayEventToSourceEvent(e)) });
      writer.setState(RingState.running);
      this.relay.watch(this.wantRunning);
      this.everOpen = true;
    } else {
      if (info.kind !== this.info.kind || JSON.stringify(localSpec(info)) !== JSON.stringify(this.spec))
        throw new InvalidStateError(`stream '${info.name}' changed its format across a reconnect`);
      this.info = info;
      this.events.next({ type: 'reconnected', atNs: monotonicNs(), details: { url: this.url.href } });
    }
    this.session = typeof body.session === 'string' ? body.session : undefined;
    this.attempt = 0;
    const every = this.o.pingIntervalMs ?? 15_000;
    this.ping = setInterval(() => this.conn?.send(emptyMessage(MsgType.PING)), every);
    this.ping.unref();
  }

  private onData(m: Message): void {
    if (m.stream !== this.info.id) return;
    if (m.type === MsgType.GAP) return; // audio continuity is checked from startFrame below; GAP only explains it
    if (!this.wantRunning) return;
    const relay = this.relay!;
    const item = { seq: m.type === MsgType.AUDIO ? m.aux : m.seq, captureNs: m.captureNs, flags: m.flags, sender: this.session };
    if (m.type === MsgType.AUDIO && relay.samples) relay.writeAudio(item, m.payload);
    else if (m.type === MsgType.VIDEO && relay.frames) relay.write(item, m.payload, { width: m.f0, height: m.f1, stride: m.f2, format: m.f3 });
    else if (m.type === MsgType.RECORDS && relay.frames) relay.write(item, m.payload);
  }

  private lost(reason: string): void {
    if (this.ping) clearInterval(this.ping);
    this.ping = null;
    if (this.closing) return;
    this.log.warn({ reason }, 'connection lost');
    this.events.next({ type: 'disconnected', atNs: monotonicNs(), reason });
    this.relay?.disconnected();
    if (this.o.reconnect === false) {
      this.events.next({ type: 'error', atNs: monotonicNs(), error: new DisconnectedError(`connection to ${this.url.href} lost: ${reason}`).toJSON() });
      return;
    }
    // Short backoff: a restarted server should be back in the picture within a second of listening again.
    const delay = Math.min(1000, 250 * 2 ** this.attempt++);
    setTimeout(() => {
      if (this.closing) return;
      this.dial(
        (e) => e && this.events.next({ type: 'error', atNs: monotonicNs(), error: toSerialized(e) }),
        () => this.lost('reconnect failed'),
      );
    }, delay).unref();
  }

  /** Plays the worker's control protocol: start/stop gate writing into the ring; there are no controls. */
  async request(call: ControlCall): Promise<unknown> {
    switch (call.t) {
      case 'start':
        this.wantRunning = true;
        this.relay?.watch(true);
        return undefined;
      case 'stop':
        this.wantRunning = false;
        this.relay?.watch(false);
        return undefined;
      case 'listControls':
        return [];
      default:
        throw new InvalidStateError(`'${call.t}' is not available on a remote source`);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.ping) clearInterval(this.ping);
    this.conn?.close();
    this.relay?.close();
    (this.relay?.frames ?? this.relay?.samples)?.setState(RingState.closed);
    this.events.next({ type: 'closed', atNs: monotonicNs() });
    this.events.complete();
  }
}

/** The local ring's spec: JPEG video becomes 'mjpeg' items with room for a frame's worth of bytes. */
function localSpec(info: StreamInfo): StreamSpec {
  const s = info.spec;
  if (s.kind === 'video' && info.encoding === 'jpeg' && s.pixelFormat !== 'mjpeg' && s.pixelFormat !== 'jpeg')
    return { ...s, pixelFormat: 'mjpeg', stride: 0, ring: { slots: s.ring.slots, slotBytes: Math.max(s.ring.slotBytes, 64 * 1024) } };
  return s;
}

function serverError(body: Record<string, unknown>): Error {
  const msg = `server refused: ${String(body.message ?? body.code)}`;
  return new IOError(msg, { serverCode: body.code });
}

function toSerialized(e: Error) {
  return { name: e.name, code: 'EIO' as const, message: e.message };
}

/**
 * Connects to a senseflow server and returns one of its streams as a {@link Source} with the same API as a
 * local one (frames$, latest(), read(n), stats$, spec, close), seq and captureNs preserved.
 *
 * @param url `tcp://host:port` or `ws://host:port/ws`
 * @example
 * ```ts
 * const cam = await connect('tcp://127.0.0.1:8080', { stream: 'cam', token: process.env.SENSEFLOW_TOKEN });
 * cam.frames$.subscribe((f) => console.log(f.seq, f.captureNs, f.width, f.height));
 * ```
 */
export async function connect<I extends SourceItem = SourceItem>(url: string | URL, opts: ConnectOptions = {}): Promise<RemoteSource<I>> {
  const u = parseEndpoint(url);
  if (opts.video !== undefined && opts.video !== 'raw' && opts.video !== 'jpeg') throw new InvalidOptionError('video', "one of 'raw', 'jpeg'", opts.video);
  const log = resolveLogger(opts, { component: 'remote', url: u.href });
  const link = new RemoteLink(u, opts, log);
  await link.open();
  return new RemoteSource<I>({ host: link, log, statsIntervalMs: opts.statsIntervalMs ?? 1000 }, link);
}
