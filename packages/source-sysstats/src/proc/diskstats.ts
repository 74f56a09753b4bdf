import { findName } from './net-dev.js';
import { ByteScanner } from './scan.js';

const sc = new ByteScanner();
const SPACE = 32;
const NL = 10;

/** /proc/diskstats counts sectors of 512 bytes whatever the device's real sector size. */
export const DISKSTATS_SECTOR_BYTES = 512;

/**
 * Parses /proc/diskstats: for each device `names[k]` (ASCII bytes), cumulative bytes read go to
 * `out[base + 2k]` and bytes written to `out[base + 2k + 1]`. Devices absent from the text stay NaN.
 *
 * @example
 * ```ts
 * const names = [Buffer.from('nvme0n1')];
 * const out = new Float64Array(2);
 * parseDiskstats(buf, len, names, out); // [bytes read, bytes written]
 * ```
 */
export function parseDiskstats(buf: Uint8Array, len: number, names: readonly Uint8Array[], out: Float64Array, base = 0): void {
  out.fill(NaN, base, base + 2 * names.length);
  sc.reset(buf, len);
  while (!sc.done) {
    sc.skipToken(); // major
    sc.skipToken(); // minor
    sc.skipBlanks();
    const start = sc.pos;
    let p = start;
    while (p < len && buf[p] !== SPACE && buf[p] !== NL) p++;
    const k = findName(buf, start, p - start, names);
    sc.pos = p;
    if (k >= 0) readCounters(out, base + 2 * k);
    sc.nextLine();
  }
}

/**
 * Parses one device's `/sys/class/block/<name>/stat` (the counters of its /proc/diskstats line, after the
 * name): cumulative bytes read go to `out[at]` and bytes written to `out[at + 1]`.
 *
 * @example
 * ```ts
 * const line = Buffer.from('  4726  1330  381594  2146  9061  7413  1019242  7052  0  8900  9199');
 * parseBlockStat(line, line.length, out, 0); // out = [381594 × 512, 1019242 × 512]
 * ```
 */
export function parseBlockStat(buf: Uint8Array, len: number, out: Float64Array, at: number): void {
  sc.reset(buf, len);
  readCounters(out, at);
}

/** From the scanner's position (a device's counters, after its name): bytes read to `out[at]`, written to `out[at + 1]`. */
function readCounters(out: Float64Array, at: number): void {
  sc.skipToken(); // reads completed
  sc.skipToken(); // reads merged
  sc.num(); // sectors read
  out[at] = sc.value * DISKSTATS_SECTOR_BYTES;
  sc.skipToken(); // ms reading
  sc.skipToken(); // writes completed
  sc.skipToken(); // writes merged
  sc.num(); // sectors written
  out[at + 1] = sc.value * DISKSTATS_SECTOR_BYTES;
}

/** Discovery helper (not for the sampling path): device names in /proc/diskstats text, in file order. */
export function listDiskstatsNames(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[2])
    .filter((n): n is string => !!n);
}
