import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { ByteScanner } from './scan.js';

/** Slots {@link parsePidStat} fills. */
export const PidStat = { utime: 0, stime: 1, rssPages: 2, state: 3 } as const;
export const PID_STAT_SLOTS = 4;
/** `PidStat.state` values (the state letter's char code) of a process that has exited but is not yet reaped. */
export const PID_STATE_ZOMBIE = 90; // 'Z'
export const PID_STATE_DEAD = 88; // 'X'

/**
 * Clock ticks per second of the times in /proc (`USER_HZ`). The kernel ABI fixes it at 100 on every
 * mainstream architecture (x86, arm, arm64, riscv, ppc); reading it would need sysconf, i.e. native code.
 */
export const USER_HZ = 100;

const sc = new ByteScanner();
const RPAREN = 41;

/**
 * Parses /proc/<pid>/stat into `out[base + PidStat.*]`: user and system time (USER_HZ ticks, all threads)
 * resident set size (pages), and the state letter as a char code (`PidStat.state`). The command name may hold spaces and parentheses, so fields are counted
 * from the LAST `)`.
 *
 * @example
 * ```ts
 * const out = new Float64Array(PID_STAT_SLOTS);
 * parsePidStat(buf, len, out);
 * const cpuSeconds = (out[PidStat.utime] + out[PidStat.stime]) / USER_HZ;
 * ```
 */
export function parsePidStat(buf: Uint8Array, len: number, out: Float64Array, base = 0): void {
  let p = len - 1;
  while (p >= 0 && buf[p] !== RPAREN) p--;
  if (p < 0) {
    out.fill(NaN, base, base + PID_STAT_SLOTS);
    return;
  }
  sc.reset(buf, len, p + 1);
  sc.skipBlanks();
  out[base + PidStat.state] = sc.peek();
  // After ")": field 3 (state) is token 0, so utime (field 14) is token 11, stime 12, rss (field 24) 21.
  for (let t = 0; t < 11; t++) sc.skipToken();
  sc.num();
  out[base + PidStat.utime] = sc.value;
  sc.num();
  out[base + PidStat.stime] = sc.value;
  for (let t = 13; t < 21; t++) sc.skipToken();
  sc.num();
  out[base + PidStat.rssPages] = sc.value;
}

const AT_PAGESZ = 6;

/**
 * The kernel page size (bytes per RSS page), from the auxiliary vector in `<procRoot>/self/auxv` — no
 * sysconf, no child process. Falls back to 4096 when the file is unreadable.
 */
export function readPageSize(procRoot = '/proc'): number {
  try {
    const buf = readFileSync(`${procRoot}/self/auxv`);
    const wide = !['ia32', 'arm', 'mips', 'mipsel', 'ppc'].includes(process.arch);
    const le = endianness() === 'LE';
    const step = wide ? 16 : 8;
    const word = (p: number) =>
      wide ? Number(le ? buf.readBigUInt64LE(p) : buf.readBigUInt64BE(p)) : le ? buf.readUInt32LE(p) : buf.readUInt32BE(p);
    for (let p = 0; p + step <= buf.length; p += step) {
      const type = word(p);
      if (type === 0) break;
      if (type === AT_PAGESZ) return word(p + step / 2);
    }
  } catch {
    // fall through
  }
  return 4096;
}
