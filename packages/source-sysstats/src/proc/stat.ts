import { ByteScanner } from './scan.js';

/** Columns kept from each `cpu` line of /proc/stat (guest time is already inside user/nice). */
export const STAT_COLUMNS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
export const STAT_COLS = STAT_COLUMNS.length;
export const StatCol = { user: 0, nice: 1, system: 2, idle: 3, iowait: 4, irq: 5, softirq: 6, steal: 7 } as const;

const sc = new ByteScanner();
const C = 99;
const P = 112;
const U = 117;

/**
 * Parses the `cpu` lines of /proc/stat (cumulative USER_HZ ticks) into
 * `out[base + row * 8 + col]`: row 0 is the all-CPU line, row n + 1 is `cpu<n>`; columns follow
 * {@link STAT_COLUMNS}. Rows the text lacks (offline CPUs) and rows beyond `rows` stay NaN / are ignored.
 * Stops at the first non-`cpu` line, so the long `intr` line is never scanned. Returns the number of rows seen.
 *
 * @example
 * ```ts
 * const out = new Float64Array(3 * STAT_COLS);
 * parseProcStat(buf, len, out, 0, 3); // out[0..7] = all CPUs, out[8..15] = cpu0, …
 * ```
 */
export function parseProcStat(buf: Uint8Array, len: number, out: Float64Array, base = 0, rows = (out.length - base) / STAT_COLS): number {
  out.fill(NaN, base, base + rows * STAT_COLS);
  sc.reset(buf, len);
  let seen = 0;
  while (!sc.done) {
    const p = sc.pos;
    if (p + 3 > len || buf[p] !== C || buf[p + 1] !== P || buf[p + 2] !== U) break;
    sc.pos = p + 3;
    // "cpu " is the total (row 0); "cpuN" is row N + 1.
    const row = sc.peek() === 32 ? 0 : sc.number() + 1;
    if (row >= 0 && row < rows) {
      const o = base + row * STAT_COLS;
      for (let c = 0; c < STAT_COLS; c++) {
        sc.num();
        out[o + c] = sc.value;
      }
      seen++;
    }
    sc.nextLine();
  }
  return seen;
}

/** Discovery helper (not for the sampling path): the CPU numbers listed in /proc/stat text. */
export function listStatCpus(text: string): number[] {
  const cpus: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s/.exec(line);
    if (m) cpus.push(Number(m[1]));
  }
  return cpus;
}
