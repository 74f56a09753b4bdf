import { InvalidOptionError, numberIn, oneOf, optionsObject, withDefault } from '@senseflow/core';
import { SYSSTATS_LIMITS } from './limits.js';

export interface SysStatsOptions {
  /** Records per second, 0.1 to 1000. Default 10. */
  hz?: number;
  /** Field names or patterns (`*` matches anything: `cpu*`, `mem.*`, `net.eth0.*`). Default: every field. */
  fields?: string[];
  /** Processes to report as `proc.<pid>.*`. Default: the host process (a worker shares its pid). */
  pids?: number[];
  /** Network interfaces (names or patterns). Default: all except `lo`. */
  nets?: string[];
  /** Block devices (names or patterns). Default: whole disks except `loop*` and `ram*`. */
  disks?: string[];
  /** Rates (CPU %, bytes/s) are averaged over at least this many ms (0 to 60000). Default 100. */
  windowMs?: number;
  /** A file is re-read at most every this many ms (0 to 1000); faster records repeat its values. Default 10. */
  readIntervalMs?: number;
  /** `procfs` (Linux), `os` (the portable fallback with fewer fields), `auto` (procfs on Linux). Default `auto`. */
  backend?: 'auto' | 'procfs' | 'os';
  /** Where procfs is mounted (replaying a recorded tree). Default `/proc`. */
  procRoot?: string;
  /** Where sysfs is mounted (replaying a recorded tree). Default `/sys`. */
  sysRoot?: string;
}

export interface ResolvedSysStatsOptions {
  hz: number;
  fields: string[] | undefined;
  pids: number[];
  nets: string[] | undefined;
  disks: string[] | undefined;
  windowMs: number;
  readIntervalMs: number;
  backend: 'procfs' | 'os';
  procRoot: string;
  sysRoot: string;
}

const KEYS = ['hz', 'fields', 'pids', 'nets', 'disks', 'windowMs', 'readIntervalMs', 'backend', 'procRoot', 'sysRoot'] as const;

function patterns(param: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || s.length === 0))
    throw new InvalidOptionError(param, 'a non-empty array of names or patterns (e.g. ["cpu*", "mem.used"])', v);
  return [...(v as string[])];
}

function path(param: string, v: unknown, fallback: string): string {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !v.startsWith('/')) throw new InvalidOptionError(param, 'an absolute path', v);
  return v;
}

/**
 * Validates sysstats options and fills defaults; errors name the parameter and what it accepts.
 *
 * @example
 * ```ts
 * resolveSysStatsOptions({ hz: 100, fields: ['cpu*'] }).readIntervalMs; // 10
 * ```
 */
export function resolveSysStatsOptions(raw: unknown): ResolvedSysStatsOptions {
  const o = optionsObject(raw, KEYS);
  const pids = o.pids === undefined ? [process.pid] : o.pids;
  if (!Array.isArray(pids) || pids.length === 0 || pids.some((p) => !Number.isInteger(p) || p <= 0))
    throw new InvalidOptionError('pids', 'a non-empty array of process ids (positive integers)', pids);
  const backend = withDefault(o.backend, 'auto', (v) => oneOf('backend', v, ['auto', 'procfs', 'os'] as const));
  if (backend === 'procfs' && process.platform !== 'linux')
    throw new InvalidOptionError('backend', `'os' or 'auto' on ${process.platform} (procfs is Linux only)`, backend);
  return {
    hz: withDefault(o.hz, 10, (v) => numberIn('hz', v, SYSSTATS_LIMITS.hz.min, SYSSTATS_LIMITS.hz.max)),
    fields: patterns('fields', o.fields),
    pids: [...new Set(pids as number[])],
    nets: patterns('nets', o.nets),
    disks: patterns('disks', o.disks),
    windowMs: withDefault(o.windowMs, 100, (v) => numberIn('windowMs', v, 0, 60_000)),
    readIntervalMs: withDefault(o.readIntervalMs, 10, (v) => numberIn('readIntervalMs', v, 0, 1000)),
    backend: backend === 'auto' ? (process.platform === 'linux' ? 'procfs' : 'os') : backend,
    procRoot: path('procRoot', o.procRoot, '/proc'),
    sysRoot: path('sysRoot', o.sysRoot, '/sys'),
  };
}
