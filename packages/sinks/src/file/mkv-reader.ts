/**
 * Just enough Matroska reading to finalize a file cut off by a crash: one flat pass over the elements
 * (entering Segment, Info, Tracks and Clusters whatever their size says, so "unknown size" and sizes never
 * patched by a killed writer both work) that finds the last complete block, the Duration field and the
 * frame size. Reads the file in chunks; no frame payload is kept.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const ENTER = new Set([0x18538067 /* Segment */, 0x1549a966 /* Info */, 0x1654ae6b /* Tracks */, 0xae /* TrackEntry */, 0xe0 /* Video */, 0x1f43b675 /* Cluster */]);
const ID = { EBML: 0x1a45dfa3, Cluster: 0x1f43b675, Timecode: 0xe7, SimpleBlock: 0xa3, BlockGroup: 0xa0, Duration: 0x4489, TimecodeScale: 0x2ad7b1, PixelWidth: 0xb0, PixelHeight: 0xba, CodecID: 0x86 };

export interface MkvScan {
  /** Complete blocks (frames) in the file. */
  blocks: number;
  /** Where the last complete element ends: everything after it is a torn tail. */
  end: number;
  size: number;
  /** Timestamp of the last block, in ticks of `timecodeScaleNs`. */
  lastTicks: number;
  timecodeScaleNs: number;
  /** Offset and byte size of the Duration value (null when the file has none). */
  duration: { offset: number; size: number; value: number } | null;
  width: number | null;
  height: number | null;
  codecId: string | null;
}

/** Reads an EBML variable-length integer (`marker`: keep the length bits, as IDs do). */
function vint(buf: Buffer, at: number, marker: boolean): { value: number; len: number; unknown: boolean } | null {
  if (at >= buf.length) return null;
  const first = buf[at];
  let len = 1;
  while (len <= 8 && !(first & (0x80 >> (len - 1)))) len++;
  if (len > 8 || at + len > buf.length) return null;
  let value = marker ? first : first & (0xff >> len);
  let allOnes = value === 0xff >> len;
  for (let i = 1; i < len; i++) {
    value = value * 256 + buf[at + i];
    if (buf[at + i] !== 0xff) allOnes = false;
  }
  return { value, len, unknown: !marker && allOnes };
}

export function scanMkv(path: string): MkvScan {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out: MkvScan = { blocks: 0, end: 0, size, lastTicks: 0, timecodeScaleNs: 1_000_000, duration: null, width: null, height: null, codecId: null };
    const CHUNK = 1 << 20;
    let buf = Buffer.alloc(0);
    let bufAt = 0; // file offset of buf[0]
    const ensure = (at: number, n: number): boolean => {
      if (at >= bufAt && at + n <= bufAt + buf.length) return true;
      const want = Math.max(n, CHUNK);
      buf = Buffer.alloc(Math.min(want, Math.max(0, size - at)));
      bufAt = at;
      const got = buf.length ? readSync(fd, buf, 0, buf.length, at) : 0;
      buf = buf.subarray(0, got);
      return got >= n;
    };
    let cluster = 0;
    let pos = 0;
    while (pos < size) {
      if (!ensure(pos, Math.min(16, size - pos))) break;
      const id = vint(buf, pos - bufAt, true);
      if (!id) break;
      const sz = vint(buf, pos - bufAt + id.len, false);
      if (!sz) break;
      const dataAt = pos + id.len + sz.len;
      if (ENTER.has(id.value) || id.value === ID.EBML) {
        if (id.value === ID.EBML) {
          if (dataAt + sz.value > size) break;
          pos = dataAt + sz.value;
        } else pos = dataAt; // enter whatever its size says
        out.end = pos;
        continue;
      }
      if (sz.unknown || dataAt + sz.value > size) break; // torn: the element does not fit in the file
      const n = sz.value;
      if (n <= 64 && ensure(dataAt, n)) {
        const b = buf.subarray(dataAt - bufAt, dataAt - bufAt + n);
        const uint = () => b.reduce((a, x) => a * 256 + x, 0);
        if (id.value === ID.Timecode) cluster = uint();
        else if (id.value === ID.TimecodeScale) out.timecodeScaleNs = uint();
        else if (id.value === ID.PixelWidth) out.width = uint();
        else if (id.value === ID.PixelHeight) out.height = uint();
        else if (id.value === ID.CodecID) out.codecId = b.toString('latin1');
        else if (id.value === ID.Duration) out.duration = { offset: dataAt, size: n, value: n === 8 ? b.readDoubleBE(0) : n === 4 ? b.readFloatBE(0) : 0 };
      }
      if (id.value === ID.SimpleBlock || id.value === ID.BlockGroup) {
        // SimpleBlock: track vint, int16 timestamp relative to the cluster; a BlockGroup holds a Block (0xa1) likewise.
        let at = dataAt;
        if (id.value === ID.BlockGroup && ensure(dataAt, 12)) at = dataAt + 1 + (vint(buf, dataAt - bufAt + 1, false)?.len ?? 1);
        if (ensure(at, 12)) {
          const track = vint(buf, at - bufAt, false);
          if (track) out.lastTicks = cluster + buf.readInt16BE(at - bufAt + track.len);
        }
        out.blocks++;
      }
      pos = dataAt + n;
      out.end = pos;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
