/**
 * The portable fallback (macOS, Windows, BSD, or `backend: 'os'`): Node's `os` module and `process`.
 * Fewer fields — no iowait/steal, no cached/swap, no network/disk/temperatures/cgroups, and only the host
 * process — and the `os` calls allocate small objects per read (unavoidable through that API).
 */
import os from 'node:os';
import { InvalidOptionError } from '@senseflow/core';
import { OpKind, type Catalog, type FieldDef, type GroupDef } from './catalog.js';
import { CpuMask } from './linux-catalog.js';
import type { ResolvedSysStatsOptions } from './options.js';
import { STAT_COLS, StatCol } from './proc/stat.js';

/**
 * @example
 * ```ts
 * discoverOs(resolveSysStatsOptions({ backend: 'os' })).fields.map((f) => f.name); // ['cpu', 'cpu.user', …]
 * ```
 */
export function discoverOs(o: ResolvedSysStatsOptions): Catalog {
  const fields: FieldDef[] = [];
  const groups = new Map<string, GroupDef>();
  const field = (name: string, unit: string, description: string, group: string, op: FieldDef['op']) =>
    fields.push({ name, unit, description, group, op });
  const other = o.pids.filter((p) => p !== process.pid);
  if (other.length)
    throw new InvalidOptionError('pids', `[${process.pid}] (the host process) with the os backend`, o.pids, { unsupported: other });

  // CPU times from os.cpus() (ms), laid out like /proc/stat rows so the same share op applies.
  const ncpu = os.cpus().length;
  const rows = ncpu + 1;
  groups.set('cpus', {
    key: 'cpus',
    counters: rows * STAT_COLS,
    gauges: 0,
    minIntervalMs: 0,
    open: () => ({
      refresh(c) {
        c.fill(0);
        const cpus = os.cpus();
        for (let i = 0; i < rows - 1; i++) {
          const t = cpus[i]?.times;
          for (const [col, v] of [
            [StatCol.user, t?.user],
            [StatCol.nice, t?.nice],
            [StatCol.system, t?.sys],
            [StatCol.idle, t?.idle],
            [StatCol.irq, t?.irq],
          ] as const) {
            const x = v ?? NaN;
            c[(i + 1) * STAT_COLS + col] = x;
            c[col] += x;
          }
        }
      },
      close() {},
    }),
  });
  const share = (mask: number, row = 0) => ({ kind: OpKind.cpuShare, a: row * STAT_COLS, mask });
  field('cpu', '%', 'all CPUs busy (os.cpus: user + nice + sys + irq), 0–100', 'cpus', share(CpuMask.busy));
  field('cpu.user', '%', 'all CPUs in user space (user + nice), 0–100', 'cpus', share(CpuMask.user));
  field('cpu.system', '%', 'all CPUs in the kernel (sys + irq), 0–100', 'cpus', share(CpuMask.system));
  for (let n = 0; n < ncpu; n++) field(`cpu.${n}`, '%', `CPU ${n} busy, 0–100`, 'cpus', share(CpuMask.busy, n + 1));

  groups.set('mem', {
    key: 'mem',
    counters: 0,
    gauges: 2,
    minIntervalMs: 0,
    open: () => ({
      refresh(_c, g) {
        g[0] = os.totalmem();
        g[1] = os.freemem();
      },
      close() {},
    }),
  });
  field('mem.total', 'bytes', 'RAM (os.totalmem)', 'mem', { kind: OpKind.gauge, a: 0 });
  field('mem.available', 'bytes', 'free RAM as the OS reports it (os.freemem; on macOS excludes reclaimable cache)', 'mem', { kind: OpKind.gauge, a: 1 });
  field('mem.used', 'bytes', 'os.totalmem − os.freemem', 'mem', { kind: OpKind.gaugeDiff, a: 0, b: 1 });

  if (process.platform !== 'win32') {
    groups.set('load', {
      key: 'load',
      counters: 0,
      gauges: 3,
      minIntervalMs: 1000,
      open: () => ({
        refresh(_c, g) {
          const l = os.loadavg();
          g[0] = l[0];
          g[1] = l[1];
          g[2] = l[2];
        },
        close() {},
      }),
    });
    ['1', '5', '15'].forEach((m, i) => field(`load.${m}`, 'tasks', `load average over ${m} min`, 'load', { kind: OpKind.gauge, a: i }));
  }

  const pid = process.pid;
  groups.set('self', {
    key: 'self',
    counters: 1,
    gauges: 1,
    minIntervalMs: 0,
    open: () => ({
      refresh(c, g) {
        const u = process.cpuUsage();
        c[0] = u.user + u.system;
        g[0] = process.memoryUsage.rss();
      },
      close() {},
    }),
  });
  field(`proc.${pid}.cpu`, '%', `process ${pid} CPU (process.cpuUsage), % of one core`, 'self', { kind: OpKind.rate, a: 0, scale: 1e-4 });
  field(`proc.${pid}.rss`, 'bytes', `process ${pid} resident set size (process.memoryUsage.rss)`, 'self', { kind: OpKind.gauge, a: 0 });

  return {
    backend: 'os',
    fields,
    groups,
    notes: ['os backend: fewer fields (no iowait/steal, cached, swap, network, disk, temperatures, cgroups; host process only)'],
  };
}
