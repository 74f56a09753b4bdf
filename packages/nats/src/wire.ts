/**
 * Item ↔ NATS message mapping: headers carry seq, capture/receive time, clock identity, flags and format;
 * the payload is the item's raw bytes, split into chunks when it exceeds the server's max payload.
 */
export interface ItemMeta {
  seq: bigint;
  captureNs: bigint;
  receiveNs: bigint;
  flags: number;
  /** Format fields, e.g. { w: 640, h: 480, s: 1920, f: 'rgb24' } or { sf: 1234, n: 480 } for audio. */
  format: Record<string, string | number>;
}

export function encodeFormat(f: Record<string, string | number>): string {
  return Object.entries(f)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
}

export function decodeFormat(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const part of s.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export interface ChunkHeader {
  index: number;
  count: number;
  total: number;
}

export const encodeChunk = (c: ChunkHeader) => `${c.index}/${c.count}/${c.total}`;

export function decodeChunk(s: string | undefined): ChunkHeader | null {
  if (!s) return null;
  const m = /^(\d+)\/(\d+)\/(\d+)$/.exec(s);
  if (!m) return null;
  const c = { index: Number(m[1]), count: Number(m[2]), total: Number(m[3]) };
  return c.count >= 1 && c.index < c.count ? c : null;
}

/** Splits `bytes` into views of at most `max` bytes (no copies). */
export function chunksOf(bytes: Uint8Array, max: number): Uint8Array[] {
  if (bytes.byteLength <= max) return [bytes];
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.byteLength; o += max) out.push(bytes.subarray(o, Math.min(bytes.byteLength, o + max)));
  return out;
}

/**
 * Reassembles chunked frames into a destination the caller provides (a ring slot, in place). A frame is
 * complete when all its chunks arrived in order; a chunk of a NEWER frame abandons the partial one
 * (latest wins), which the caller counts as a drop.
 */
export class Reassembler {
  private seq = -1n;
  private next = 0;
  private filled = 0;

  /**
   * Returns 'start' (a new frame begins: get a destination), 'continue', 'complete', or 'broken' (a gap inside
   * the frame). Any other seq than the current frame's starts a new frame: a lower one is a restarted
   * publisher (the relay decides what that means), never a reason to ignore the stream.
   */
  accept(seq: bigint, c: ChunkHeader): 'start' | 'continue' | 'complete' | 'broken' {
    if (seq !== this.seq) {
      if (c.index !== 0) {
        this.seq = seq;
        this.next = -1; // joined mid-frame: wait for the next frame
        return 'broken';
      }
      this.seq = seq;
      this.next = 1;
      this.filled = 0;
      return c.count === 1 ? 'complete' : 'start';
    }
    if (this.next < 0 || c.index !== this.next) {
      this.next = -1;
      return 'broken';
    }
    this.next++;
    return this.next === c.count ? 'complete' : 'continue';
  }

  /** Whether a frame is in progress (started and not complete). */
  get partial(): boolean {
    return this.next > 0;
  }

  addBytes(n: number): number {
    this.filled += n;
    return this.filled;
  }
  get offset(): number {
    return this.filled;
  }
  reset(): void {
    this.next = 0;
    this.filled = 0;
  }
}
