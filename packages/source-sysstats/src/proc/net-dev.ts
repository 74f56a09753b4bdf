import { ByteScanner } from './scan.js';

const sc = new ByteScanner();
const COLON = 58;

/**
 * Parses /proc/net/dev: for each interface `names[k]` (ASCII bytes), cumulative received bytes go to
 * `out[base + 2k]` and transmitted bytes to `out[base + 2k + 1]`. Interfaces absent from the text stay NaN.
 *
 * @example
 * ```ts
 * const names = ['eth0', 'wlan0'].map((n) => Buffer.from(n));
 * const out = new Float64Array(2 * names.length);
 * parseNetDev(buf, len, names, out); // out = [eth0 rx, eth0 tx, wlan0 rx, wlan0 tx]
 * ```
 */
export function parseNetDev(buf: Uint8Array, len: number, names: readonly Uint8Array[], out: Float64Array, base = 0): void {
  out.fill(NaN, base, base + 2 * names.length);
  sc.reset(buf, len);
  sc.nextLine(); // two header lines
  sc.nextLine();
  while (!sc.done) {
    sc.skipBlanks();
    const start = sc.pos;
    if (!sc.skipPast(COLON)) {
      sc.nextLine();
      continue;
    }
    const nameLen = sc.pos - 1 - start;
    const k = findName(buf, start, nameLen, names);
    if (k >= 0) {
      sc.num();
      out[base + 2 * k] = sc.value;
      for (let f = 1; f < 8; f++) sc.skipToken(); // packets errs drop fifo frame compressed multicast
      sc.num();
      out[base + 2 * k + 1] = sc.value;
    }
    sc.nextLine();
  }
}

/** Index of the name equal to `buf[start, start + n)`, or -1. */
export function findName(buf: Uint8Array, start: number, n: number, names: readonly Uint8Array[]): number {
  outer: for (let k = 0; k < names.length; k++) {
    const name = names[k];
    if (name.length !== n) continue;
    for (let i = 0; i < n; i++) if (buf[start + i] !== name[i]) continue outer;
    return k;
  }
  return -1;
}

/** Discovery helper (not for the sampling path): interface names in /proc/net/dev text, in file order. */
export function listNetDevNames(text: string): string[] {
  return text
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0].trim())
    .filter((n) => n.length > 0);
}
