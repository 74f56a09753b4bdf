import { ByteScanner, ascii } from './scan.js';

/** Slots {@link parseMeminfo} fills, in bytes. */
export const Meminfo = {
  total: 0,
  free: 1,
  available: 2,
  buffers: 3,
  cached: 4,
  swapTotal: 5,
  swapFree: 6,
} as const;
export const MEMINFO_SLOTS = 7;

const KEYS: Uint8Array[] = ['MemTotal:', 'MemFree:', 'MemAvailable:', 'Buffers:', 'Cached:', 'SwapTotal:', 'SwapFree:'].map(ascii);
// Slot of KEYS[k] (same order as Meminfo).
const SLOTS = [Meminfo.total, Meminfo.free, Meminfo.available, Meminfo.buffers, Meminfo.cached, Meminfo.swapTotal, Meminfo.swapFree];
const sc = new ByteScanner();

/**
 * Parses /proc/meminfo into `out[base + Meminfo.*]` in bytes (the file says kB, meaning KiB).
 * Keys the file lacks stay NaN. Stops once every key is found (they all sit near the top).
 *
 * @example
 * ```ts
 * const out = new Float64Array(MEMINFO_SLOTS);
 * parseMeminfo(buf, len, out);
 * const usedBytes = out[Meminfo.total] - out[Meminfo.available];
 * ```
 */
export function parseMeminfo(buf: Uint8Array, len: number, out: Float64Array, base = 0): void {
  out.fill(NaN, base, base + MEMINFO_SLOTS);
  sc.reset(buf, len);
  let left = KEYS.length;
  while (!sc.done && left > 0) {
    const start = sc.pos;
    for (let k = 0; k < KEYS.length; k++) {
      const key = KEYS[k];
      // Keys are distinct prefixes of a line (with their colon), so the first match is the key.
      if (buf[start] === key[0] && sc.match(key)) {
        sc.num();
        // Every value we read is in kB (KiB).
        out[base + SLOTS[k]] = sc.value * 1024;
        left--;
        break;
      }
      sc.pos = start;
    }
    sc.nextLine();
  }
}
