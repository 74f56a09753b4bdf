import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByteScanner, ascii, parseFirstNumber } from './scan.js';

const sc = new ByteScanner();
const USAGE = ascii('usage_usec');
const M = 109;

/**
 * Parses a cgroup v2 `cpu.stat` into the CPU time the group used, in microseconds (`usage_usec`). NaN if absent.
 *
 * @example
 * ```ts
 * parseCgroupCpuStat(Buffer.from('usage_usec 1500\nuser_usec 1000\n'), 31); // 1500
 * ```
 */
export function parseCgroupCpuStat(buf: Uint8Array, len: number): number {
  sc.reset(buf, len);
  while (!sc.done) {
    if (sc.match(USAGE)) return sc.number();
    sc.nextLine();
  }
  return NaN;
}

/**
 * Parses a cgroup v2 limit file holding a number or `max` (`memory.max`, `memory.current`): `max` is Infinity.
 *
 * @example
 * ```ts
 * parseCgroupValue(Buffer.from('max\n'), 4); // Infinity
 * parseCgroupValue(Buffer.from('536870912\n'), 10); // 536870912
 * ```
 */
export function parseCgroupValue(buf: Uint8Array, len: number): number {
  if (len > 0 && buf[0] === M) return Infinity;
  return parseFirstNumber(buf, len);
}

/**
 * Parses a cgroup v2 `cpu.max` (`<quota> <period>` or `max <period>`, microseconds) into a limit in CPU cores
 * (`quota / period`): `max` is Infinity.
 *
 * @example
 * ```ts
 * parseCgroupCpuMax(Buffer.from('150000 100000\n'), 14); // 1.5
 * ```
 */
export function parseCgroupCpuMax(buf: Uint8Array, len: number): number {
  if (len > 0 && buf[0] === M) return Infinity;
  sc.reset(buf, len);
  const quota = sc.number();
  const period = sc.number();
  return period > 0 ? quota / period : NaN;
}

export interface CgroupV2 {
  /** The process's own cgroup directory, e.g. `/sys/fs/cgroup` in a container or `/sys/fs/cgroup/user.slice/…`. */
  dir: string;
  /** Which files exist there. */
  cpuStat: boolean;
  cpuMax: boolean;
  memoryCurrent: boolean;
  memoryMax: boolean;
}

/**
 * Discovery (once, at open): the cgroup v2 directory of this process, from `<procRoot>/self/cgroup` (`0::/path`)
 * and the cgroup2 mount in `<procRoot>/self/mountinfo`. Returns undefined when there is no cgroup v2, or when
 * the process sits in the root cgroup (no limits there and the usage is the whole machine's: that is `cpu`/`mem.*`).
 * Mount points starting with `/sys` are re-rooted under `sysRoot` so recorded trees replay.
 */
export function findCgroupV2(procRoot = '/proc', sysRoot = '/sys'): CgroupV2 | undefined {
  let cgroupText: string;
  let mountinfo: string;
  try {
    cgroupText = readFileSync(join(procRoot, 'self/cgroup'), 'utf8');
    mountinfo = readFileSync(join(procRoot, 'self/mountinfo'), 'utf8');
  } catch {
    return undefined;
  }
  const line = cgroupText.split('\n').find((l) => l.startsWith('0::'));
  if (!line) return undefined;
  let rel = line.slice(3).trim();
  // mountinfo: id parent maj:min root mountpoint options … - fstype source superoptions
  const mount = mountinfo
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
  if (!mount) return undefined;
  const [, , , mountRoot, mountPoint] = mount;
  if (mountRoot !== '/' && rel.startsWith(mountRoot)) rel = rel.slice(mountRoot.length) || '/';
  const base = mountPoint.startsWith('/sys/') || mountPoint === '/sys' ? join(sysRoot, mountPoint.slice(4)) : mountPoint;
  const dir = join(base, rel);
  const has = (f: string) => existsSync(join(dir, f));
  const cg: CgroupV2 = { dir, cpuStat: has('cpu.stat'), cpuMax: has('cpu.max'), memoryCurrent: has('memory.current'), memoryMax: has('memory.max') };
  // The root cgroup has none of the limit/usage files: nothing container-specific to report.
  if (!cg.cpuMax && !cg.memoryCurrent && !cg.memoryMax) return undefined;
  return cg;
}

/** cgroup v1 reports "no memory limit" as the largest page-aligned 63-bit value; anything this big is none. */
const V1_UNLIMITED = 2 ** 62;

/**
 * Parses a cgroup v1 byte count (`memory.usage_in_bytes`, `memory.limit_in_bytes`): the "unlimited" value
 * (9223372036854771712) becomes Infinity.
 *
 * @example
 * ```ts
 * parseCgroupV1Bytes(Buffer.from('9223372036854771712\n'), 20); // Infinity
 * ```
 */
export function parseCgroupV1Bytes(buf: Uint8Array, len: number): number {
  const v = parseFirstNumber(buf, len);
  return v >= V1_UNLIMITED ? Infinity : v;
}

export interface CgroupV1 {
  /** `cpu,cpuacct` directory of this process (absent when it sits in the root: no limit, whole-machine usage). */
  cpuDir?: string;
  cpuacctDir?: string;
  /** `memory` directory of this process (absent when in the root). */
  memoryDir?: string;
}

/**
 * Discovery (once, at open): this process's cgroup v1 directories for the cpu, cpuacct and memory controllers
 * (older Docker/Kubernetes hosts), from `<procRoot>/self/cgroup` and the `cgroup` mounts in `mountinfo`.
 * Controllers where the process sits in the root cgroup are left out. Undefined when none is left.
 */
export function findCgroupV1(procRoot = '/proc', sysRoot = '/sys'): CgroupV1 | undefined {
  let cgroupText: string;
  let mountinfo: string;
  try {
    cgroupText = readFileSync(join(procRoot, 'self/cgroup'), 'utf8');
    mountinfo = readFileSync(join(procRoot, 'self/mountinfo'), 'utf8');
  } catch {
    return undefined;
  }
  const mounts = mountinfo
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[f.indexOf('-') + 1] === 'cgroup')
    .map((f) => ({ root: f[3], point: f[4], controllers: (f[f.length - 1] ?? '').split(',') }));
  const dirOf = (controller: string): string | undefined => {
    const line = cgroupText.split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
    if (!line) return undefined;
    let rel = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).trim();
    if (rel === '/' || rel === '') return undefined;
    const m = mounts.find((x) => x.controllers.includes(controller));
    if (!m) return undefined;
    if (m.root !== '/' && rel.startsWith(m.root)) rel = rel.slice(m.root.length) || '/';
    const base = m.point.startsWith('/sys/') ? join(sysRoot, m.point.slice(4)) : m.point;
    const dir = join(base, rel);
    return existsSync(dir) ? dir : undefined;
  };
  const cg: CgroupV1 = { cpuDir: dirOf('cpu'), cpuacctDir: dirOf('cpuacct'), memoryDir: dirOf('memory') };
  return cg.cpuDir || cg.cpuacctDir || cg.memoryDir ? cg : undefined;
}
