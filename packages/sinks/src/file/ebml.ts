/**
 * The few EBML encodings a Matroska writer needs: element IDs are written as given (they carry their own
 * length marker), sizes as variable-length integers, and values as big-endian unsigned ints, floats or
 * UTF-8 strings. Pure functions over Buffers; nothing here touches files.
 */

/** The reserved "unknown size" marker (8 bytes): lets a live writer open a Segment or Cluster it cannot size yet. */
export const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Encodes a size (or track number) as an EBML variable-length integer in the fewest bytes. */
export function vint(n: number): Buffer {
  for (let len = 1; len <= 8; len++) {
    // 2^(7·len) − 1 is reserved (all ones = unknown), so the usable maximum is one less.
    if (n < 2 ** (7 * len) - 1) {
      const out = Buffer.alloc(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        out[i] = v % 256;
        v = Math.floor(v / 256);
      }
      out[0] |= 0x80 >> (len - 1);
      return out;
    }
  }
  throw new RangeError(`EBML size too large: ${n}`);
}

/** An element ID as bytes (IDs are written with their marker bits, e.g. 0x1A45DFA3). */
function idBytes(id: number): Buffer {
  const bytes: number[] = [];
  let v = id;
  while (v > 0) {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  }
  return Buffer.from(bytes);
}

export type EbmlValue = number | bigint | string | Buffer | EbmlElement[] | { float: number };
export type EbmlElement = [id: number, value: EbmlValue];

function uintBytes(v: number | bigint): Buffer {
  let b = BigInt(v);
  if (b < 0n) throw new RangeError(`EBML uint cannot be negative: ${v}`);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(b & 0xffn));
    b >>= 8n;
  } while (b > 0n);
  return Buffer.from(bytes);
}

/** Encodes one element (recursively for master elements). Numbers are unsigned ints; `{ float }` is a double. */
export function element(id: number, value: EbmlValue): Buffer {
  let body: Buffer;
  if (Buffer.isBuffer(value)) body = value;
  else if (typeof value === 'string') body = Buffer.from(value, 'utf8');
  else if (Array.isArray(value)) body = Buffer.concat(value.map(([i, v]) => element(i, v)));
  else if (typeof value === 'object') {
    body = Buffer.alloc(8);
    body.writeDoubleBE(value.float);
  } else body = uintBytes(value);
  return Buffer.concat([idBytes(id), vint(body.length), body]);
}

/** A master element whose size is left unknown (children follow as they come). */
export function openElement(id: number): Buffer {
  return Buffer.concat([idBytes(id), UNKNOWN_SIZE]);
}

/** Just the ID and size of an element whose body the caller writes separately (zero-copy payloads). */
export function elementHead(id: number, bodyBytes: number): Buffer {
  return Buffer.concat([idBytes(id), vint(bodyBytes)]);
}
