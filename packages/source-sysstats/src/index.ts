/**
 * @senseflow/source-sysstats — CPU, memory, load, per-process, network/disk rates, temperatures and cgroup
 * usage from /proc and /sys (Linux), with an `os`-module fallback elsewhere. See docs/sysstats.md.
 */
import { openSource, type HostOptions, type RecordsSource } from '@senseflow/core';
import type { SysStatsOptions } from './options.js';

/**
 * Opens the sysstats source in its own worker. Records are Float64 rows, one value per field of
 * `source.spec.fields`; `item.get('cpu')` reads by name.
 *
 * @example
 * ```ts
 * await using stats = await openSysStats({ hz: 10, fields: ['cpu', 'mem.*'] });
 * stats.frames$.subscribe((r) => console.log(r.get('cpu'), r.get('mem.used')));
 * await stats.start();
 * ```
 */
export function openSysStats(options: SysStatsOptions = {}, host?: HostOptions): Promise<RecordsSource> {
  return openSource(new URL('./sysstats-source.js', import.meta.url), options, host) as Promise<RecordsSource>;
}

export { listSysStatFields, discover } from './discover.js';
export { resolveSysStatsOptions, type SysStatsOptions, type ResolvedSysStatsOptions } from './options.js';
export { SysStatsSampler, primeDelayMs, type SamplerOptions, type SamplerTiming } from './sampler.js';
export type { Catalog, FieldDef, GroupDef, GroupReader } from './catalog.js';
export { ProcFile } from './proc/file.js';
export { ByteScanner, parseFirstNumber } from './proc/scan.js';
export { parseProcStat, listStatCpus, STAT_COLUMNS, STAT_COLS, StatCol } from './proc/stat.js';
export { parseMeminfo, Meminfo, MEMINFO_SLOTS } from './proc/meminfo.js';
export { parseLoadavg } from './proc/loadavg.js';
export { parsePidStat, readPageSize, PidStat, PID_STAT_SLOTS, PID_STATE_ZOMBIE, PID_STATE_DEAD, USER_HZ } from './proc/pid-stat.js';
export { parseNetDev, listNetDevNames } from './proc/net-dev.js';
export { parseDiskstats, parseBlockStat, listDiskstatsNames, DISKSTATS_SECTOR_BYTES } from './proc/diskstats.js';
export { parseMilliCelsius, findTemperatureSensors, fieldSegment, type TemperatureSensor } from './proc/thermal.js';
export { parseCgroupCpuStat, parseCgroupCpuMax, parseCgroupValue, parseCgroupV1Bytes, findCgroupV2, findCgroupV1, type CgroupV2, type CgroupV1 } from './proc/cgroup.js';
export { SYSSTATS_LIMITS } from './limits.js';
