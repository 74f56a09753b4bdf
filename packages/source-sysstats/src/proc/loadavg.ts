import { ByteScanner } from './scan.js';

const sc = new ByteScanner();

/**
 * Parses /proc/loadavg (`0.05 0.19 0.10 2/96 8418`) into `out[base..base+2]` = 1, 5 and 15 minute load.
 *
 * @example
 * ```ts
 * const out = new Float64Array(3);
 * parseLoadavg(buf, len, out); // [0.05, 0.19, 0.1]
 * ```
 */
export function parseLoadavg(buf: Uint8Array, len: number, out: Float64Array, base = 0): void {
  sc.reset(buf, len);
  sc.num();
  out[base] = sc.value;
  sc.num();
  out[base + 1] = sc.value;
  sc.num();
  out[base + 2] = sc.value;
}
