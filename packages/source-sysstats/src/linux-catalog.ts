/**
 * The procfs/sysfs backend: discovers what this machine has (once, with ordinary string reads) and
 * describes how each field is computed. The per-record path is in the group readers: open fds, pread,
 * byte parsers, no allocation.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceNotFoundError } from '@senseflow/core';
import { OpKind, type Catalog, type FieldDef, type GroupDef } from './catalog.js';
import type { ResolvedSysStatsOptions } from './options.js';
import { findCgroupV1, findCgroupV2, parseCgroupCpuMax, parseCgroupCpuStat, parseCgroupV1Bytes, parseCgroupValue } from './proc/cgroup.js';
import { parseFirstNumber } from './proc/scan.js';
import { listDiskstatsNames, parseBlockStat, parseDiskstats } from './proc/diskstats.js';
import { ProcFile } from './proc/file.js';
import { parseLoadavg } from './proc/loadavg.js';
import { MEMINFO_SLOTS, Meminfo, parseMeminfo } from './proc/meminfo.js';
import { listNetDevNames, parseNetDev } from './proc/net-dev.js';
import { PID_STATE_DEAD, PID_STATE_ZOMBIE, PID_STAT_SLOTS, PidStat, USER_HZ, parsePidStat, readPageSize } from './proc/pid-stat.js';
import { STAT_COLS, StatCol, listStatCpus, parseProcStat } from './proc/stat.js';
import { findTemperatureSensors, parseMilliCelsius } from './proc/thermal.js';
import { globToRegExp, selectNames } from './select.js';

const bit = (...cols: number[]) => cols.reduce((m, c) => m | (1 << c), 0);
export const CpuMask = {
  busy: bit(StatCol.user, StatCol.nice, StatCol.system, StatCol.irq, StatCol.softirq, StatCol.steal),
  user: bit(StatCol.user, StatCol.nice),
  system: bit(StatCol.system, StatCol.irq, StatCol.softirq),
  iowait: bit(StatCol.iowait),
  steal: bit(StatCol.steal),
};

/** Load averages change every 5 s in the kernel; temperatures and cgroup limits change slowly. */
const LOAD_MIN_MS = 1000;
const LIMIT_MIN_MS = 1000;
/** Reads between attempts to open a disk's stat file again after it failed. */
const REOPEN_EVERY = 100;
const TEMP_MIN_MS = 100;

const text = (p: string): string => readFileSync(p, 'utf8');
const tryText = (p: string): string | undefined => {
  try {
    return text(p);
  } catch {
    return undefined;
  }
};

/** A reader over one file whose failure is reported once, then leaves NaN. */
function guarded(path: string, what: string, onLost: (what: string, err: unknown) => void) {
  let f: ProcFile | null = new ProcFile(path);
  return {
    /** Gives up on the file now (the object is gone even though the read worked, e.g. a zombie process). */
    lose(reason: string) {
      if (!f) return;
      f.close();
      f = null;
      onLost(what, new Error(reason));
    },
    read(): ProcFile | null {
      if (!f) return null;
      try {
        f.read();
        return f;
      } catch (err) {
        f.close();
        f = null;
        onLost(what, err);
        return null;
      }
    },
    close() {
      f?.close();
      f = null;
    },
  };
}

/**
 * Discovers the fields this machine offers under the given options.
 *
 * @example
 * ```ts
 * const c = discoverLinux(resolveSysStatsOptions({ nets: ['eth*'] }));
 * c.fields.map((f) => `${f.name} (${f.unit})`);
 * ```
 */
export function discoverLinux(o: ResolvedSysStatsOptions): Catalog {
  const P = o.procRoot;
  const fields: FieldDef[] = [];
  const groups = new Map<string, GroupDef>();
  const notes: string[] = [];
  const field = (name: string, unit: string, description: string, group: string, op: FieldDef['op']) =>
    fields.push({ name, unit, description, group, op });

  // ---- CPU: /proc/stat ----
  const cpus = listStatCpus(text(join(P, 'stat')));
  const rows = (cpus.length ? Math.max(...cpus) : -1) + 2;
  groups.set('stat', {
    key: 'stat',
    counters: rows * STAT_COLS,
    gauges: 0,
    minIntervalMs: 0,
    open() {
      const f = new ProcFile(join(P, 'stat'));
      return { refresh: (c) => parseProcStat(f.buf, f.read(), c, 0, rows), close: () => f.close() };
    },
  });
  const share = (mask: number, row = 0) => ({ kind: OpKind.cpuShare, a: row * STAT_COLS, mask });
  field('cpu', '%', 'all CPUs busy (user + nice + system + irq + softirq + steal), 0–100', 'stat', share(CpuMask.busy));
  field('cpu.user', '%', 'all CPUs in user space (user + nice), 0–100', 'stat', share(CpuMask.user));
  field('cpu.system', '%', 'all CPUs in the kernel (system + irq + softirq), 0–100', 'stat', share(CpuMask.system));
  field('cpu.iowait', '%', 'all CPUs idle waiting for I/O, 0–100', 'stat', share(CpuMask.iowait));
  field('cpu.steal', '%', 'all CPUs stolen by the hypervisor, 0–100', 'stat', share(CpuMask.steal));
  for (const n of cpus) field(`cpu.${n}`, '%', `CPU ${n} busy, 0–100`, 'stat', share(CpuMask.busy, n + 1));

  // ---- memory: /proc/meminfo ----
  groups.set('meminfo', {
    key: 'meminfo',
    counters: 0,
    gauges: MEMINFO_SLOTS,
    minIntervalMs: 0,
    open() {
      const f = new ProcFile(join(P, 'meminfo'));
      return { refresh: (_c, g) => parseMeminfo(f.buf, f.read(), g), close: () => f.close() };
    },
  });
  const mg = (a: number) => ({ kind: OpKind.gauge, a });
  field('mem.total', 'bytes', 'usable RAM (MemTotal)', 'meminfo', mg(Meminfo.total));
  field('mem.available', 'bytes', 'RAM available to start new programs without swapping (MemAvailable)', 'meminfo', mg(Meminfo.available));
  field('mem.used', 'bytes', 'RAM in use: MemTotal − MemAvailable', 'meminfo', { kind: OpKind.gaugeDiff, a: Meminfo.total, b: Meminfo.available });
  field('mem.cached', 'bytes', 'page cache (Cached)', 'meminfo', mg(Meminfo.cached));
  field('swap.used', 'bytes', 'swap in use: SwapTotal − SwapFree', 'meminfo', { kind: OpKind.gaugeDiff, a: Meminfo.swapTotal, b: Meminfo.swapFree });

  // ---- load: /proc/loadavg ----
  groups.set('loadavg', {
    key: 'loadavg',
    counters: 0,
    gauges: 3,
    minIntervalMs: LOAD_MIN_MS,
    open() {
      const f = new ProcFile(join(P, 'loadavg'));
      return { refresh: (_c, g) => parseLoadavg(f.buf, f.read(), g), close: () => f.close() };
    },
  });
  ['1', '5', '15'].forEach((m, i) => field(`load.${m}`, 'tasks', `load average over ${m} min (runnable + uninterruptible tasks)`, 'loadavg', mg(i)));

  // ---- processes: /proc/<pid>/stat ----
  for (const pid of o.pids) {
    if (!existsSync(join(P, String(pid), 'stat'))) throw new DeviceNotFoundError(`process ${pid} does not exist (no ${join(P, String(pid), 'stat')})`, { pid });
  }
  const pageSize = readPageSize(P);
  const pids = o.pids;
  groups.set('pids', {
    key: 'pids',
    counters: pids.length,
    gauges: pids.length,
    minIntervalMs: 0,
    open(onLost) {
      const files = pids.map((pid) => guarded(join(P, String(pid), 'stat'), `process ${pid}`, onLost));
      const s = new Float64Array(PID_STAT_SLOTS);
      return {
        refresh(c, g) {
          for (let k = 0; k < files.length; k++) {
            const f = files[k].read();
            if (f) parsePidStat(f.buf, f.length, s);
            // Exited but not yet reaped: its stat still reads, with rss 0 — that is not data.
            if (f && (s[PidStat.state] === PID_STATE_ZOMBIE || s[PidStat.state] === PID_STATE_DEAD)) {
              files[k].lose(`process ${pids[k]} exited (zombie)`);
              s.fill(NaN);
            } else if (!f) s.fill(NaN);
            c[k] = s[PidStat.utime] + s[PidStat.stime];
            g[k] = s[PidStat.rssPages] * pageSize;
          }
        },
        close: () => files.forEach((f) => f.close()),
      };
    },
  });
  pids.forEach((pid, k) => {
    field(`proc.${pid}.cpu`, '%', `process ${pid} CPU, all threads, % of one core (200 = two cores busy)`, 'pids', { kind: OpKind.rate, a: k, scale: 100 / USER_HZ });
    field(`proc.${pid}.rss`, 'bytes', `process ${pid} resident set size`, 'pids', mg(k));
  });

  // ---- network: /proc/net/dev ----
  const netText = tryText(join(P, 'net/dev'));
  if (netText !== undefined) {
    const all = listNetDevNames(netText);
    const nets = o.nets ? selectNames('nets', all, o.nets) : all.filter((n) => n !== 'lo');
    addPair('net', nets, ['rx', 'tx'], ['received', 'sent'], wholeFile(join(P, 'net/dev'), nets, parseNetDev));
  } else notes.push(`no ${join(P, 'net/dev')}: no network fields`);

  // ---- disks: named by /proc/diskstats, read from sysfs when it has them ----
  const diskText = tryText(join(P, 'diskstats'));
  if (diskText !== undefined) {
    const all = listDiskstatsNames(diskText);
    let disks: string[];
    if (o.disks) disks = selectNames('disks', all, o.disks);
    else {
      // Whole disks are the entries of /sys/block (partitions are not); skip loop and RAM disks.
      let whole: Set<string> | undefined;
      try {
        whole = new Set(readdirSync(join(o.sysRoot, 'block')));
      } catch {
        whole = undefined;
      }
      const skip = [globToRegExp('loop*'), globToRegExp('ram*')];
      disks = all.filter((d) => (!whole || whole.has(d)) && !skip.some((re) => re.test(d)));
    }
    // Each disk's own /sys/class/block/<name>/stat when sysfs has it: the same counters, formatted by the
    // kernel for that device alone, where /proc/diskstats formats every block device (loop and RAM disks
    // too) on each read: 11–12 µs against 6 µs for the two disks of a VM with 10 block devices, 34–39 µs
    // against 6 µs with 36 (bench/sysstats.bench.mjs, docs/sysstats.md).
    const stats = disks.map((d) => join(o.sysRoot, 'class/block', d, 'stat'));
    const open = disks.length > 0 && stats.every((f) => existsSync(f)) ? blockStats(stats) : wholeFile(join(P, 'diskstats'), disks, parseDiskstats);
    addPair('disk', disks, ['read', 'write'], ['read from', 'written to'], open);
  } else notes.push(`no ${join(P, 'diskstats')}: no disk fields`);

  /** Counters for `names` parsed out of one file that lists them all. */
  function wholeFile(path: string, names: string[], parse: (buf: Uint8Array, len: number, names: readonly Uint8Array[], out: Float64Array) => void): GroupDef['open'] {
    const bytes = names.map((n) => Buffer.from(n, 'latin1'));
    return () => {
      const f = new ProcFile(path);
      return { refresh: (c) => parse(f.buf, f.read(), bytes, c), close: () => f.close() };
    };
  }

  /**
   * Bytes read and written per disk from one stat file each. A disk that went away reads NaN (as a line
   * missing from /proc/diskstats would); its file is opened again every {@link REOPEN_EVERY} reads (~1 s at
   * the default interval; a failing open throws, too costly for every read), so a re-plugged disk comes back.
   */
  function blockStats(paths: string[]): GroupDef['open'] {
    return () => {
      const files: Array<ProcFile | null> = paths.map(() => null); // opened by the first read
      const wait = new Int32Array(paths.length); // reads left before the next open attempt
      const readOne = (k: number, c: Float64Array) => {
        c[2 * k] = c[2 * k + 1] = NaN; // unless the read below works
        if (!files[k] && wait[k] > 0) {
          wait[k]--;
          return;
        }
        try {
          const f = (files[k] ??= new ProcFile(paths[k], 256));
          parseBlockStat(f.buf, f.read(), c, 2 * k);
        } catch {
          files[k]?.close();
          files[k] = null;
          wait[k] = REOPEN_EVERY - 1;
        }
      };
      return {
        refresh(c) {
          for (let k = 0; k < files.length; k++) readOne(k, c);
        },
        close: () => files.forEach((f) => f?.close()),
      };
    };
  }

  function addPair(prefix: string, names: string[], suffix: [string, string], verb: [string, string], open: GroupDef['open']) {
    if (names.length === 0) return;
    groups.set(prefix, { key: prefix, counters: 2 * names.length, gauges: 0, minIntervalMs: 0, open });
    names.forEach((n, k) => {
      for (let j = 0; j < 2; j++)
        field(`${prefix}.${n}.${suffix[j]}`, 'bytes/s', `bytes ${verb[j]} ${n} per second`, prefix, { kind: OpKind.rate, a: 2 * k + j });
    });
  }

  // ---- temperatures: /sys/class/thermal, /sys/class/hwmon ----
  const sensors = findTemperatureSensors(o.sysRoot);
  if (sensors.length) {
    groups.set('temp', {
      key: 'temp',
      counters: 0,
      gauges: sensors.length,
      minIntervalMs: TEMP_MIN_MS,
      open() {
        // A sensor read can fail transiently (EIO, ENODATA): that record gets NaN, the next one tries again.
        const files = sensors.map((s) => new ProcFile(s.path, 64));
        return {
          refresh(_c, g) {
            for (let k = 0; k < files.length; k++) {
              try {
                g[k] = parseMilliCelsius(files[k].buf, files[k].read());
              } catch {
                g[k] = NaN;
              }
            }
          },
          close: () => files.forEach((f) => f.close()),
        };
      },
    });
    sensors.forEach((s, k) => field(s.name, '°C', s.label, 'temp', mg(k)));
  } else notes.push('no readable temperature sensor (thermal zones / hwmon): no temp.* fields');

  /**
   * cgroup usage (counter 0: CPU time; gauge 0: memory) at every read, and the limits (gauge 0: CPU, 1: memory),
   * settings that change rarely, in their own group read at most once a second.
   */
  function setCgroupGroups(usage: GroupDef['open'], limits: GroupDef['open']): void {
    groups.set('cgroup', { key: 'cgroup', counters: 1, gauges: 1, minIntervalMs: 0, open: usage });
    groups.set('cgroup.limits', { key: 'cgroup.limits', counters: 0, gauges: 2, minIntervalMs: LIMIT_MIN_MS, open: limits });
  }

  // ---- cgroup v2 (containers, systemd slices) ----
  const cg = findCgroupV2(P, o.sysRoot);
  if (cg) {
    const files = (['cpu.stat', 'cpu.max', 'memory.current', 'memory.max'] as const).filter(
      (f) => ({ 'cpu.stat': cg.cpuStat, 'cpu.max': cg.cpuMax, 'memory.current': cg.memoryCurrent, 'memory.max': cg.memoryMax })[f],
    );
    const opened = (names: readonly (typeof files)[number][]) => {
      const fs = names.filter((f) => files.includes(f)).map((f) => [f, new ProcFile(join(cg.dir, f), 1024)] as const);
      const at = (name: string) => fs.find(([f]) => f === name)?.[1];
      return { at, close: () => fs.forEach(([, f]) => f.close()) };
    };
    setCgroupGroups(
      () => {
        const { at, close } = opened(['cpu.stat', 'memory.current']);
        const [stat, memCur] = [at('cpu.stat'), at('memory.current')];
        return {
          refresh(c, g) {
            c[0] = stat ? parseCgroupCpuStat(stat.buf, stat.read()) : NaN;
            g[0] = memCur ? parseCgroupValue(memCur.buf, memCur.read()) : NaN;
          },
          close,
        };
      },
      () => {
        const { at, close } = opened(['cpu.max', 'memory.max']);
        const [cpuMax, memMax] = [at('cpu.max'), at('memory.max')];
        return {
          refresh(_c, g) {
            g[0] = cpuMax ? parseCgroupCpuMax(cpuMax.buf, cpuMax.read()) : NaN;
            g[1] = memMax ? parseCgroupValue(memMax.buf, memMax.read()) : NaN;
          },
          close,
        };
      },
    );
    if (cg.cpuStat) field('cgroup.cpu', '%', `CPU used by this cgroup (${cg.dir}), % of one core`, 'cgroup', { kind: OpKind.rate, a: 0, scale: 1e-4 });
    if (cg.cpuMax) field('cgroup.cpu.limit', 'cores', 'CPU limit of this cgroup (cpu.max quota / period); Infinity = none', 'cgroup.limits', mg(0));
    if (cg.memoryCurrent) field('cgroup.mem.used', 'bytes', 'memory charged to this cgroup (memory.current)', 'cgroup', mg(0));
    if (cg.memoryMax) field('cgroup.mem.limit', 'bytes', 'memory limit of this cgroup (memory.max); Infinity = none', 'cgroup.limits', mg(1));
  } else {
    const v1 = findCgroupV1(P, o.sysRoot);
    if (v1) addCgroupV1(v1);
    else notes.push('not in a cgroup (v2 or v1) container or slice: no cgroup.* fields');
  }

  // cgroup v1 (older Docker/Kubernetes hosts): cpuacct.usage (ns), CFS quota/period, memory usage/limit.
  function addCgroupV1(v1: NonNullable<ReturnType<typeof findCgroupV1>>) {
    const paths = {
      usage: v1.cpuacctDir && join(v1.cpuacctDir, 'cpuacct.usage'),
      quota: v1.cpuDir && join(v1.cpuDir, 'cpu.cfs_quota_us'),
      period: v1.cpuDir && join(v1.cpuDir, 'cpu.cfs_period_us'),
      memUsed: v1.memoryDir && join(v1.memoryDir, 'memory.usage_in_bytes'),
      memLimit: v1.memoryDir && join(v1.memoryDir, 'memory.limit_in_bytes'),
    };
    const ok = (p: string | undefined): p is string => !!p && existsSync(p);
    const f = (p: string | undefined) => (ok(p) ? new ProcFile(p, 64) : undefined);
    setCgroupGroups(
      () => {
        const [usage, memUsed] = [f(paths.usage), f(paths.memUsed)];
        return {
          refresh(c, g) {
            c[0] = usage ? parseFirstNumber(usage.buf, usage.read()) : NaN;
            g[0] = memUsed ? parseCgroupV1Bytes(memUsed.buf, memUsed.read()) : NaN;
          },
          close: () => [usage, memUsed].forEach((x) => x?.close()),
        };
      },
      () => {
        const [quota, period, memLimit] = [f(paths.quota), f(paths.period), f(paths.memLimit)];
        return {
          refresh(_c, g) {
            if (quota && period) {
              const q = parseFirstNumber(quota.buf, quota.read());
              const per = parseFirstNumber(period.buf, period.read());
              g[0] = q < 0 ? Infinity : per > 0 ? q / per : NaN; // quota -1 = no limit
            } else g[0] = NaN;
            g[1] = memLimit ? parseCgroupV1Bytes(memLimit.buf, memLimit.read()) : NaN;
          },
          close: () => [quota, period, memLimit].forEach((x) => x?.close()),
        };
      },
    );
    if (ok(paths.usage)) field('cgroup.cpu', '%', `CPU used by this cgroup (v1 ${v1.cpuacctDir}), % of one core`, 'cgroup', { kind: OpKind.rate, a: 0, scale: 1e-7 });
    if (ok(paths.quota) && ok(paths.period))
      field('cgroup.cpu.limit', 'cores', 'CPU limit of this cgroup (v1 cfs_quota_us / cfs_period_us); Infinity = none', 'cgroup.limits', mg(0));
    if (ok(paths.memUsed)) field('cgroup.mem.used', 'bytes', `memory charged to this cgroup (v1 ${v1.memoryDir})`, 'cgroup', mg(0));
    if (ok(paths.memLimit)) field('cgroup.mem.limit', 'bytes', 'memory limit of this cgroup (v1 memory.limit_in_bytes); Infinity = none', 'cgroup.limits', mg(1));
  }

  return { backend: 'procfs', fields, groups, notes };
}
