/**
 * The browser's reader of the senseflow wire protocol v1 (docs/protocol.md). Same layout as the server's
 * src/net/protocol.ts; a unit test checks the two agree.
 */
export const MAGIC = 0x314e4653;
export const HEADER_BYTES = 56;
export const MsgType = { HELLO: 1, STREAMS: 2, VIDEO: 3, AUDIO: 4, RECORDS: 5, GAP: 6, STATS: 7, ERROR: 8, PING: 9 } as const;

export interface WireMessage {
  type: number;
  stream: number;
  flags: number;
  seq: bigint;
  captureNs: bigint;
  aux: bigint;
  f0: number;
  f1: number;
  f2: number;
  f3: number;
  /** The payload as a view over the received ArrayBuffer (offset 56, so 8-byte aligned). */
  payload: Uint8Array;
}

export function decode(buf: ArrayBuffer): WireMessage {
  if (buf.byteLength < HEADER_BYTES) throw new Error(`message shorter than the header (${buf.byteLength} bytes)`);
  const dv = new DataView(buf);
  if (dv.getUint32(0, true) !== MAGIC) throw new Error('bad magic');
  if (dv.getUint8(5) !== HEADER_BYTES) throw new Error('bad header size');
  const len = dv.getUint32(8, true);
  if (len !== buf.byteLength - HEADER_BYTES) throw new Error('payload length mismatch');
  return {
    type: dv.getUint8(4),
    stream: dv.getUint16(6, true),
    flags: dv.getUint32(12, true),
    seq: dv.getBigUint64(16, true),
    captureNs: dv.getBigInt64(24, true),
    aux: dv.getBigUint64(32, true),
    f0: dv.getUint32(40, true),
    f1: dv.getUint32(44, true),
    f2: dv.getUint32(48, true),
    f3: dv.getUint32(52, true),
    payload: new Uint8Array(buf, HEADER_BYTES, len),
  };
}

export function encodeJson(type: number, body: unknown): ArrayBuffer {
  const json = new TextEncoder().encode(JSON.stringify(body));
  const buf = new ArrayBuffer(HEADER_BYTES + json.length);
  const dv = new DataView(buf);
  dv.setUint32(0, MAGIC, true);
  dv.setUint8(4, type);
  dv.setUint8(5, HEADER_BYTES);
  dv.setUint32(8, json.length, true);
  new Uint8Array(buf, HEADER_BYTES).set(json);
  return buf;
}

export const json = (m: WireMessage): Record<string, unknown> => JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown>;
