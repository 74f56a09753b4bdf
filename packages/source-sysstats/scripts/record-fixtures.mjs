#!/usr/bin/env node
// Records real /proc and /sys snapshots from this machine into test/fixtures/<name>/{t0,t1}/ for the parser
// and sampler tests. t1 is taken ~1 s after t0, with this process busy for part of it so deltas are non-zero.
// Usage: node scripts/record-fixtures.mjs [name]   (default: the hostname). Build the package first: the
// recorder finds this process's cgroup files with the package's own discovery.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const name = process.argv[2] ?? hostname();
const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', name);
const pid = process.pid;
const { findCgroupV1, findCgroupV2 } = await import('../dist/index.js');
const v2 = findCgroupV2();
const v1 = v2 ? undefined : findCgroupV1();
const cgroupFiles = [
  ...(v2 ? ['cpu.stat', 'cpu.max', 'memory.current', 'memory.max'].map((f) => join(v2.dir, f)) : []),
  ...(v1?.cpuacctDir ? [join(v1.cpuacctDir, 'cpuacct.usage')] : []),
  ...(v1?.cpuDir ? ['cpu.cfs_quota_us', 'cpu.cfs_period_us'].map((f) => join(v1.cpuDir, f)) : []),
  ...(v1?.memoryDir ? ['memory.usage_in_bytes', 'memory.limit_in_bytes'].map((f) => join(v1.memoryDir, f)) : []),
].filter((p) => existsSync(p));
const procFiles = ['stat', 'meminfo', 'loadavg', 'net/dev', 'diskstats', `${pid}/stat`, 'self/cgroup', 'self/mountinfo', 'self/auxv'];

function snapshot(dir) {
  for (const f of procFiles) {
    const dest = join(root, dir, 'proc', f.replace(/^self\//, 'self/'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, readFileSync(join('/proc', f)));
  }
  for (const f of cgroupFiles) {
    const dest = join(root, dir, f); // absolute /sys/… path re-rooted under the snapshot
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, readFileSync(f));
  }
  // Whole disks are the entries of /sys/block; record the names (as marker files: git keeps no empty dirs).
  for (const d of readdirSync('/sys/block')) {
    mkdirSync(join(root, dir, 'sys/block', d), { recursive: true });
    writeFileSync(join(root, dir, 'sys/block', d, '.keep'), '');
  }
  return process.hrtime.bigint();
}

const t0 = snapshot('t0');
const busyUntil = Date.now() + 500;
while (Date.now() < busyUntil); // 0.5 s of CPU for proc.<pid>.cpu
await new Promise((r) => setTimeout(r, 500));
const t1 = snapshot('t1');
writeFileSync(
  join(root, 'meta.json'),
  JSON.stringify({ pid, elapsedMs: Number(t1 - t0) / 1e6, recordedAt: new Date().toISOString(), kernel: readFileSync('/proc/version', 'utf8').trim() }, null, 2) + '\n',
);
console.log(`recorded ${root} (pid ${pid}, ${(Number(t1 - t0) / 1e6).toFixed(1)} ms apart)`);
