/** Small formatting helpers for human output. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export function sumDrops(d: Record<string, number>): number {
  return Object.values(d).reduce((a, b) => a + b, 0);
}

export function dropsText(d: Record<string, number>): string {
  const parts = Object.entries(d).filter(([, v]) => v > 0);
  return parts.length ? parts.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}

/** One-line message of any error (typed senseflow errors carry their own clear messages). */
export function errorLine(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0];
  return String(e);
}
