/**
 * The receive side of one `connect()`: a worker that owns the connection (TCP or WebSocket), speaks the
 * handshake, and writes every stream's items into its LOCAL ring through core's RelayWriter (epochs on a
 * server restart, gaps counted, staleness reported). Over TCP the kernel reads a video or records payload
 * straight into its ring slot (tcp-receiver.ts); nothing is assembled or copied in between. The main
 * thread gets the rings once and low-rate events after that; no data crosses the message port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect as tcpConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import {
  createRingForSpec,
  FrameRingWriter,
  IOError,
  monotonicNs,
  RelayWriter,
  RingState,
  SampleRingWriter,
  serializeError,
  resolveLogger,
  type LogLevel,
  type RelayEvent,
  type SerializedError,
  type StreamSpec,
} from '@senseflow/core';
import { Acker, decodeMessage, emptyMessage, HEADER_BYTES, jsonMessage, MsgType, parseJson, ProtocolError, readHeader, type AckCadence, type Message } from './codec.js';
import { TcpReceiver } from './tcp-receiver.js';

export interface StreamInfo {
  id: number;
  name: string;
  kind: StreamSpec['kind'];
  encoding: 'raw' | 'jpeg';
  firstSeq: string;
  spec: StreamSpec;
}

export interface ReceiveInit {
  url: string;
  token?: string;
  /** Stream names or ids to ask for; null = every stream the server has. */
  streams: (string | number)[] | null;
  video: 'raw' | 'jpeg';
  maxMessageBytes: number;
  reconnect: boolean;
  /** Ask for flow control (HELLO `ack`) and acknowledge consumed bytes. */
  ack: boolean;
  pingIntervalMs: number;
  logLevel: LogLevel;
  /** Float64Array[1]: bytes received on this connection. */
  counters: SharedArrayBuffer;
}

/** worker → main */
export type ReceiveEvent =
  | { t: 'streams'; session: string | null; streams: { info: StreamInfo; spec: StreamSpec; sab: SharedArrayBuffer }[] }
  | { t: 'refused'; error: SerializedError }
  | { t: 'relay'; stream: number; event: RelayEvent; atNs: bigint }
  | { t: 'disconnected'; reason: string; atNs: bigint }
  | { t: 'reconnected'; atNs: bigint }
  | { t: 'error'; error: SerializedError; atNs: bigint }
  /** A `run` request took effect: from now on the stream's items are (not) written into its ring. */
  | { t: 'ran'; id: number }
  | { t: 'closed' };
/** main → worker */
export type ReceiveRequest = { t: 'run'; stream: number; on: boolean; id: number } | { t: 'release'; stream: number } | { t: 'close' };

const init = workerData as ReceiveInit;
const port = parentPort!;
const post = (m: ReceiveEvent) => port.postMessage(m);
const log = resolveLogger({ logLevel: init.logLevel }, { component: 'remote', url: init.url, thread: 'receive-worker' });
const received = new Float64Array(init.counters);
const url = new URL(init.url);

interface Stream {
  info: StreamInfo;
  spec: StreamSpec;
  relay: RelayWriter;
  running: boolean;
  released: boolean;
}
const streams = new Map<number, Stream>();
let session: string | undefined;
let everOpen = false;
let closing = false;
let attempt = 0;
let conn: { send(m: Uint8Array): void; close(): void } | null = null;
let ping: NodeJS.Timeout | null = null;

/** The local ring's spec: JPEG video becomes 'mjpeg' items with room for a frame's worth of bytes. */
function localSpec(info: StreamInfo): StreamSpec {
  const s = info.spec;
  if (s.kind === 'video' && info.encoding === 'jpeg' && s.pixelFormat !== 'mjpeg' && s.pixelFormat !== 'jpeg')
    return { ...s, pixelFormat: 'mjpeg', stride: 0, ring: { slots: s.ring.slots, slotBytes: Math.max(s.ring.slotBytes, 64 * 1024) } };
  return s;
}

function onStreams(body: Record<string, unknown>): void {
  const list = (body.streams ?? []) as StreamInfo[];
  session = typeof body.session === 'string' ? body.session : undefined;
  if (!everOpen) {
    everOpen = true;
    const out: Extract<ReceiveEvent, { t: 'streams' }>['streams'] = [];
    for (const info of list) {
      const spec = localSpec(info);
      const sab = createRingForSpec(spec);
      const writer = spec.kind === 'audio' ? new SampleRingWriter(sab) : new FrameRingWriter(sab);
      const relay = new RelayWriter(writer, { spec, onEvent: (event) => post({ t: 'relay', stream: info.id, event, atNs: monotonicNs() }) });
      writer.setState(RingState.running);
      relay.watch(true);
      streams.set(info.id, { info, spec, relay, running: true, released: false });
      out.push({ info, spec, sab });
    }
    post({ t: 'streams', session: session ?? null, streams: out });
  } else {
    for (const info of list) {
      const s = streams.get(info.id);
      if (s && JSON.stringify(localSpec(info)) !== JSON.stringify(s.spec)) {
        post({ t: 'error', atNs: monotonicNs(), error: serializeError(new IOError(`stream '${info.name}' changed its format across a reconnect; it gets no more items`)) });
        s.released = true;
      }
    }
    post({ t: 'reconnected', atNs: monotonicNs() });
  }
  attempt = 0;
  startAcking(body);
  ping = setInterval(() => conn?.send(emptyMessage(MsgType.PING)), init.pingIntervalMs);
  ping.unref();
}

/** A stream's relay if its items are wanted now. */
function target(id: number): Stream | null {
  const s = streams.get(id);
  return s && s.running && !s.released ? s : null;
}

/** One whole message (WebSocket, or a TCP message that is not written in place). */
function onMessage(m: Message, answered: () => boolean, onAnswer: (e: Error | null) => void): void {
  if (!answered()) {
    if (m.type === MsgType.ERROR) {
      const b = parseJson(m);
      return onAnswer(new IOError(`server refused: ${String(b.message ?? b.code)}`, { serverCode: b.code }));
    }
    if (m.type !== MsgType.STREAMS) return;
    onStreams(parseJson(m));
    return onAnswer(null);
  }
  if (m.type === MsgType.ERROR) {
    log.warn({ error: parseJson(m) }, 'the server closed the connection with an error');
    return;
  }
  const s = target(m.stream);
  if (!s) return;
  const item = { seq: m.type === MsgType.AUDIO ? m.aux : m.seq, captureNs: m.captureNs, receiveNs: monotonicNs(), flags: m.flags, sender: session };
  if (m.type === MsgType.AUDIO && s.relay.samples) s.relay.writeAudio(item, m.payload);
  else if (m.type === MsgType.VIDEO && s.relay.frames) s.relay.write(item, m.payload, { width: m.f0, height: m.f1, stride: m.f2, format: m.f3 });
  else if (m.type === MsgType.RECORDS && s.relay.frames) s.relay.write(item, m.payload);
}

// Flow control (docs/protocol.md): every byte of server messages this connection received is consumed at
// once (handled in the data callback), and acknowledged at the cadence the server's STREAMS asked for.
let acker: Acker | null = null;
/** Bytes of this connection consumed before STREAMS said whether and how to acknowledge them. */
let consumedBefore = 0;
function consumed(n: number): void {
  if (acker) acker.consume(n);
  else consumedBefore += n;
}
function startAcking(body: Record<string, unknown>): void {
  if (!init.ack || !body.ack) return;
  acker = new Acker((m) => conn?.send(m), body.ack as AckCadence);
  acker.consume(consumedBefore);
}
function stopAcking(): void {
  acker?.stop();
  acker = null;
  consumedBefore = 0;
}

function dial(onAnswer: (e: Error | null) => void): void {
  stopAcking();
  let answered = false;
  let done = false;
  const answer = (e: Error | null) => {
    if (answered) return;
    answered = true;
    onAnswer(e);
    if (e) conn?.close();
  };
  const closed = (reason: string) => {
    if (done) return;
    done = true;
    if (!answered) return answer(new IOError(`cannot connect to ${url.href}: ${reason}`, { url: url.href }));
    lost(reason);
  };
  const hello = () => {
    const body: Record<string, unknown> = { token: init.token, video: init.video, ack: init.ack };
    if (init.streams) body.streams = init.streams;
    conn!.send(jsonMessage(MsgType.HELLO, body));
  };
  const handle = (m: Message) => onMessage(m, () => answered, answer);
  if (url.protocol === 'tcp:') {
    const rx = new TcpReceiver({
      maxMessageBytes: init.maxMessageBytes,
      answered: () => answered,
      relayFor: (id) => {
        const s = target(id);
        return s?.relay.frames ? s.relay : null;
      },
      sender: () => session,
      onWhole: handle,
      log,
    });
    // The kernel reads straight into the receiver's buffers (ring slots included): no 'data' events, no chunk Buffers.
    const onread = {
      buffer: rx.readBuffer,
      callback: (n: number) => {
        received[0] += n;
        try {
          rx.onRead(n);
          consumed(n);
        } catch (e) {
          socket.destroy();
          closed((e as Error).message);
          return false;
        }
        return true;
      },
    };
    const socket: Socket = tcpConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), noDelay: true, onread });
    socket.on('connect', hello);
    socket.on('close', () => rx.close());
    socket.on('error', (e) => closed(e.message));
    socket.on('close', () => closed('connection closed'));
    conn = { send: (m) => void socket.write(m), close: () => socket.destroy() };
    return;
  }
  const path = url.pathname === '/' ? '/ws' : url.pathname;
  const ws = new WebSocket(`${url.protocol}//${url.host}${path}`, { maxPayload: init.maxMessageBytes + HEADER_BYTES, perMessageDeflate: false });
  // 'fragments': ws hands over a message's frames without joining them (a 6 MB copy per raw frame saved).
  ws.binaryType = 'fragments';
  ws.on('open', hello);
  ws.on('message', (data: Buffer | Buffer[], isBinary) => {
    const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.length;
    received[0] += bytes;
    try {
      if (isBinary) handle(decodeFragments(data as Buffer[]));
      consumed(bytes);
    } catch (e) {
      ws.terminate();
      closed((e as Error).message);
    }
  });
  ws.on('error', (e) => closed(e.message));
  ws.on('close', (code, reason) => closed(`closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`));
  conn = { send: (m) => ws.send(m, { binary: true }), close: () => ws.terminate() };
}

/**
 * One binary WebSocket message from its frames. The server sends a raw frame as [header, payload] frames:
 * the payload is used where ws put it; anything else is joined and decoded whole.
 */
function decodeFragments(parts: Buffer[]): Message {
  if (parts.length === 2 && parts[0].length === HEADER_BYTES) {
    const h = readHeader(parts[0], init.maxMessageBytes);
    if (h.payloadBytes !== parts[1].length) throw new ProtocolError(`message is ${HEADER_BYTES + parts[1].length} bytes but its header says ${HEADER_BYTES + h.payloadBytes}`);
    return { ...h, payload: parts[1] };
  }
  return decodeMessage(parts.length === 1 ? parts[0] : Buffer.concat(parts), init.maxMessageBytes);
}

function lost(reason: string): void {
  stopAcking();
  if (ping) clearInterval(ping);
  ping = null;
  if (closing) return;
  log.warn({ reason }, 'connection lost');
  for (const s of streams.values()) s.relay.disconnected();
  post({ t: 'disconnected', reason, atNs: monotonicNs() });
  if (!init.reconnect) {
    post({ t: 'error', atNs: monotonicNs(), error: serializeError(new IOError(`connection to ${url.href} lost: ${reason}`)) });
    return;
  }
  retry();
}

/** Dials again after a short backoff: a restarted server is back in the picture within a second of listening. */
function retry(): void {
  const delay = Math.min(1000, 250 * 2 ** attempt++);
  setTimeout(() => {
    if (closing) return;
    dial((e) => {
      if (!e) return;
      log.debug({ err: e }, 'reconnect failed');
      // The server answered with a refusal (e.g. the token changed): say so and stop trying.
      if (e instanceof IOError && e.details?.serverCode !== undefined) post({ t: 'error', atNs: monotonicNs(), error: serializeError(e) });
      else retry();
    });
  }, delay);
}

function shutdown(): void {
  if (closing) return;
  closing = true;
  if (ping) clearInterval(ping);
  stopAcking();
  conn?.close();
  for (const s of streams.values()) {
    s.relay.close();
    (s.relay.frames ?? s.relay.samples)!.setState(RingState.closed);
  }
  post({ t: 'closed' });
  port.close();
}

port.on('message', (m: ReceiveRequest) => {
  if (m.t === 'close') return shutdown();
  const s = streams.get(m.stream);
  if (m.t === 'run') {
    if (s) {
      s.running = m.on;
      s.relay.watch(m.on);
    }
    // Acknowledged once the gate is set: stop() resolves on this, so no item of the stream enters its ring
    // after that (this thread writes the ring, and every write checks the gate).
    post({ t: 'ran', id: m.id });
  } else if (m.t === 'release' && s) {
    s.released = true;
    s.relay.close();
    (s.relay.frames ?? s.relay.samples)!.setState(RingState.closed);
    if ([...streams.values()].every((x) => x.released)) shutdown();
  }
});

dial((e) => {
  if (e) {
    post({ t: 'refused', error: serializeError(e) });
    closing = true;
    port.close();
  }
});
