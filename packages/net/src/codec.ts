/**
 * The senseflow wire protocol, version 1: the one codec, used by the server, by `connect()` and by the
 * dashboard in the browser (it needs nothing from Node: DataView, Uint8Array, TextEncoder). docs/protocol.md
 * is the normative text. Every message, over TCP or as one WebSocket binary message, is a fixed 56-byte
 * little-endian header followed by `payloadBytes` of payload:
 *
 * ```
 * off size field
 *  0   4   magic "SFN1" (0x53 0x46 0x4e 0x31)
 *  4   1   type (MsgType)
 *  5   1   header bytes (56 in v1)
 *  6   2   stream id (u16; 0 for connection-level messages)
 *  8   4   payload bytes (u32)
 * 12   4   flags (u32, ItemFlags bits)
 * 16   8   seq (u64)
 * 24   8   captureNs (i64, CLOCK_MONOTONIC ns of the sending host)
 * 32   8   aux (u64; audio: startFrame)
 * 40   4   f0   video: width      audio: frames    records: value count
 * 44   4   f1   video: height     audio: channels
 * 48   4   f2   video: stride     audio: rate
 * 52   4   f3   video: FourCC     audio: sample format code (1 s16le, 2 s32le, 3 f32le)
 * ```
 * Control messages (HELLO, STREAMS, GAP, STATS, ERROR) carry UTF-8 JSON payloads; PING and ACK have none
 * (ACK's count is in `seq`).
 */
import { IOError } from '@senseflow/core';

export const MAGIC = 0x314e4653; // bytes "SFN1" read as a little-endian u32
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 56;

export const MsgType = {
  /** client → server, JSON: `{ token?, streams?, video?: 'jpeg' | 'raw', ack?: boolean }`. Must be first. */
  HELLO: 1,
  /** server → client, JSON: `{ version, streams: [{ id, name, kind, encoding, firstSeq, spec }], limits }`. */
  STREAMS: 2,
  VIDEO: 3,
  AUDIO: 4,
  RECORDS: 5,
  /** server → client, JSON: `{ stream, lost, unit: 'frames' | 'items', cause }`: loss on this connection. */
  GAP: 6,
  /** server → client, JSON: per-stream and per-connection counters, about once a second. */
  STATS: 7,
  /** server → client, JSON: `{ code, message }`; the server closes the connection right after. */
  ERROR: 8,
  /** either way, empty: keep-alive. */
  PING: 9,
  /** client → server, empty, `seq` = bytes of server messages consumed so far (flow control; only if STREAMS had `ack`). */
  ACK: 10,
} as const;
export type MsgTypeCode = (typeof MsgType)[keyof typeof MsgType];
const MAX_TYPE = 10;

export interface Header {
  type: MsgTypeCode;
  stream: number;
  payloadBytes: number;
  flags: number;
  seq: bigint;
  captureNs: bigint;
  aux: bigint;
  f0: number;
  f1: number;
  f2: number;
  f3: number;
}

export interface Message extends Header {
  /** A view over the received bytes (no copy when the message arrived in one piece). */
  payload: Uint8Array;
}

/** A malformed or over-limit message. The connection that sent it is closed; nothing else is affected. */
export class ProtocolError extends IOError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super(`protocol error: ${reason}`, { ...details, reason });
  }
}

const empty = new Uint8Array(0);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
/** Uninitialised memory where the platform has it (Node): the bytes are overwritten at once. */
const alloc: (n: number) => Uint8Array = typeof Buffer !== 'undefined' ? (n) => Buffer.allocUnsafe(n) : (n) => new Uint8Array(n);

/** Writes a header into `out` at `offset` (out must have 56 bytes there). */
export function writeHeader(out: Uint8Array, h: Partial<Header> & { type: MsgTypeCode; payloadBytes: number }, offset = 0): void {
  const dv = new DataView(out.buffer, out.byteOffset + offset, HEADER_BYTES);
  dv.setUint32(0, MAGIC, true);
  dv.setUint8(4, h.type);
  dv.setUint8(5, HEADER_BYTES);
  dv.setUint16(6, h.stream ?? 0, true);
  dv.setUint32(8, h.payloadBytes, true);
  dv.setUint32(12, (h.flags ?? 0) >>> 0, true);
  dv.setBigUint64(16, BigInt.asUintN(64, h.seq ?? 0n), true);
  dv.setBigInt64(24, BigInt.asIntN(64, h.captureNs ?? 0n), true);
  dv.setBigUint64(32, BigInt.asUintN(64, h.aux ?? 0n), true);
  dv.setUint32(40, (h.f0 ?? 0) >>> 0, true);
  dv.setUint32(44, (h.f1 ?? 0) >>> 0, true);
  dv.setUint32(48, (h.f2 ?? 0) >>> 0, true);
  dv.setUint32(52, (h.f3 ?? 0) >>> 0, true);
}

/**
 * Reads and checks a header. Throws {@link ProtocolError} on a bad magic, header size, type, or a payload
 * larger than `maxPayload` — before anything is allocated for the payload.
 */
export function readHeader(buf: Uint8Array, maxPayload: number, offset = 0): Header {
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, HEADER_BYTES);
  if (dv.getUint32(0, true) !== MAGIC) throw new ProtocolError('bad magic (not a senseflow v1 stream)');
  const headerBytes = dv.getUint8(5);
  if (headerBytes !== HEADER_BYTES) throw new ProtocolError(`header size ${headerBytes}, expected ${HEADER_BYTES}`);
  const type = dv.getUint8(4);
  if (type < 1 || type > MAX_TYPE) throw new ProtocolError(`unknown message type ${type}`);
  const payloadBytes = dv.getUint32(8, true);
  if (payloadBytes > maxPayload) throw new ProtocolError(`message of ${payloadBytes} bytes exceeds the limit of ${maxPayload}`, { payloadBytes, maxPayload });
  return {
    type: type as MsgTypeCode,
    stream: dv.getUint16(6, true),
    payloadBytes,
    flags: dv.getUint32(12, true),
    seq: dv.getBigUint64(16, true),
    captureNs: dv.getBigInt64(24, true),
    aux: dv.getBigUint64(32, true),
    f0: dv.getUint32(40, true),
    f1: dv.getUint32(44, true),
    f2: dv.getUint32(48, true),
    f3: dv.getUint32(52, true),
  };
}

/** Builds one whole message (header + payload) in a fresh buffer, reserving room for the payload. */
export function allocMessage(h: Partial<Header> & { type: MsgTypeCode }, payloadBytes: number): Uint8Array {
  const buf = alloc(HEADER_BYTES + payloadBytes);
  writeHeader(buf, { ...h, payloadBytes });
  return buf;
}

/** A control message with a JSON payload (bigints are sent as decimal strings). */
export function jsonMessage(type: MsgTypeCode, body: unknown, stream = 0): Uint8Array {
  const json = utf8.encode(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  const buf = allocMessage({ type, stream }, json.length);
  buf.set(json, HEADER_BYTES);
  return buf;
}

/** A message with no payload (PING). */
export function emptyMessage(type: MsgTypeCode, stream = 0): Uint8Array {
  return allocMessage({ type, stream }, 0);
}

/** An ACK: `consumed` bytes of server messages (headers included) consumed since the connection opened. */
export function ackMessage(consumed: number): Uint8Array {
  return allocMessage({ type: MsgType.ACK, seq: BigInt(consumed) }, 0);
}

/** The ACK cadence a server asks for in STREAMS (`ack`), when the client's HELLO had `ack: true`. */
export interface AckCadence {
  /** Acknowledge at most this long after consuming a byte. */
  intervalMs: number;
  /** …and as soon as this many bytes are unacknowledged. */
  bytes: number;
}

/**
 * The client side of flow control: counts bytes of server messages as the application consumes them and
 * sends an ACK per the server's cadence — by bytes and by time, never per message, so a client reading
 * gigabytes a second sends a few hundred small messages a second and a slow one acks within `intervalMs`.
 * Timers are armed only while something is unacknowledged (an idle connection never wakes).
 */
export class Acker {
  private consumed = 0;
  private acked = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: (m: Uint8Array) => void,
    private readonly cadence: AckCadence,
  ) {
    if (!(cadence.intervalMs > 0) || !(cadence.bytes > 0)) throw new ProtocolError('STREAMS `ack` must have a positive `intervalMs` and `bytes`', { cadence });
  }

  /** Bytes consumed so far (what the next ACK says). */
  get consumedBytes(): number {
    return this.consumed;
  }

  /** `n` more bytes of server messages were consumed. */
  consume(n: number): void {
    this.consumed += n;
    if (this.consumed - this.acked >= this.cadence.bytes) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.cadence.intervalMs);
  }

  /** Sends an ACK now if anything is unacknowledged. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.consumed === this.acked) return;
    this.acked = this.consumed;
    this.send(ackMessage(this.consumed));
  }

  /** Stops the timer (the connection is gone). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Parses a JSON payload; anything that is not a JSON object is a protocol error. */
export function parseJson(m: Message): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8.decode(m.payload));
  } catch {
    throw new ProtocolError('control message payload is not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError('control message payload must be a JSON object');
  return v as Record<string, unknown>;
}

/** Decodes one complete message (a WebSocket binary message): header, then exactly `payloadBytes` bytes. */
export function decodeMessage(buf: Uint8Array | ArrayBuffer, maxPayload: number): Message {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (b.byteLength < HEADER_BYTES) throw new ProtocolError(`message of ${b.byteLength} bytes is shorter than the header`);
  const h = readHeader(b, maxPayload);
  if (b.byteLength !== HEADER_BYTES + h.payloadBytes) throw new ProtocolError(`message is ${b.byteLength} bytes but its header says ${HEADER_BYTES + h.payloadBytes}`);
  return { ...h, payload: h.payloadBytes ? b.subarray(HEADER_BYTES) : empty };
}

/** FourCC code of a four-letter string (video `f3`). */
export function fourcc(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}

/**
 * Splits a byte stream (TCP) into messages. Memory is bounded by one message (≤ header + `maxPayload`) plus
 * the chunk being pushed: the size is checked from the header before any payload is buffered.
 */
export class FrameParser {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private header: Header | null = null;

  constructor(private readonly maxPayload: number) {}

  /** Bytes held while waiting for the rest of a message. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feeds bytes; returns the complete messages they finish. Throws {@link ProtocolError} on bad input. */
  push(chunk: Uint8Array): Message[] {
    const out: Message[] = [];
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (!this.header) {
        if (this.buffered < HEADER_BYTES) break;
        this.header = readHeader(this.take(HEADER_BYTES), this.maxPayload);
      }
      const h = this.header;
      if (this.buffered < h.payloadBytes) break;
      this.header = null;
      out.push({ ...h, payload: h.payloadBytes ? this.take(h.payloadBytes) : empty });
    }
    return out;
  }

  /** Removes `n` bytes from the front: a view when they lie in one chunk, else one copy. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    let res: Uint8Array;
    if (first.length >= n) {
      res = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      res = alloc(n);
      let got = 0;
      while (got < n) {
        const c = this.chunks[0];
        const k = Math.min(n - got, c.length);
        res.set(k === c.length ? c : c.subarray(0, k), got);
        got += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return res;
  }
}
