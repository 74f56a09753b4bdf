import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  MEMINFO_SLOTS,
  PID_STAT_SLOTS,
  STAT_COLS,
  SysStatsSampler,
  discover,
  listSysStatFields,
  parseBlockStat,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parsePidStat,
  parseProcStat,
  resolveSysStatsOptions,
} from '@senseflow/source-sysstats';
import { REAL, fixture, realMeta, replay } from './helpers.js';

/**
 * Heap bytes per call of `fn`: the smallest growth over several synchronous stretches with no GC in them.
 * Synchronous, so no other JS runs in between; the minimum drops the odd JIT bookkeeping (a real
 * allocation, ≥ 16 B per call, shows in every stretch).
 */
function heapPerCall(fn: () => void, calls = 5000): number {
  for (let i = 0; i < 20000; i++) fn(); // let the JIT settle
  let gcs = 0;
  const obs = new PerformanceObserver((l) => {
    gcs += l.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  try {
    let best = Infinity;
    let clean = 0;
    for (let attempt = 0; attempt < 30 && clean < 5; attempt++) {
      const before = gcs;
      const h0 = process.memoryUsage().heapUsed;
      for (let i = 0; i < calls; i++) fn();
      const h1 = process.memoryUsage().heapUsed;
      if (gcs === before && h1 >= h0) {
        clean++;
        best = Math.min(best, (h1 - h0) / calls);
      }
    }
    if (!clean) throw new Error('no GC-free window found');
    return best;
  } finally {
    obs.disconnect();
  }
}

const b = (s: string) => Buffer.from(s, 'latin1');

describe('no per-sample allocation', () => {
  it('every parser allocates nothing, even for counters past 2^30', () => {
    const stat = fixture(REAL, 't1', 'proc/stat');
    const mem = fixture(REAL, 't1', 'proc/meminfo');
    const load = fixture(REAL, 't1', 'proc/loadavg');
    const pid = fixture(REAL, 't1', `proc/${realMeta.pid}/stat`);
    const disk = fixture(REAL, 't1', 'proc/diskstats');
    const blockStat = b('  4726  1330  381594  2146  9061  7413  5000000000123  7052  0  8900  9199\n');
    const net = b('h1\nh2\n  eth0: 5000000000123 1 0 0 0 0 0 0 6000000000456 0 0 0 0 0 0 0\n');
    const out = new Float64Array(64);
    const nets = [b('eth0')];
    const disks = [b('vda')];
    const perCall = heapPerCall(() => {
      parseProcStat(stat, stat.length, out, 0, 3);
      parseMeminfo(mem, mem.length, out, 24);
      parseLoadavg(load, load.length, out, 24 + MEMINFO_SLOTS);
      parsePidStat(pid, pid.length, out, 40);
      parseNetDev(net, net.length, nets, out, 40 + PID_STAT_SLOTS);
      parseDiskstats(disk, disk.length, disks, out, 50);
      parseBlockStat(blockStat, blockStat.length, out, 52);
    });
    expect(out[2 * STAT_COLS - 1]).not.toBeNaN();
    expect(out[40 + PID_STAT_SLOTS]).toBe(5000000000123);
    expect(out[53]).toBe(5000000000123 * 512);
    expect(perCall).toBeLessThan(1);
  });

  it.each([
    ['/proc/diskstats', false],
    ["each disk's /sys/class/block/<name>/stat", true],
  ])('a sampler record allocates at most the boxed clock reading (16 B), disks from %s', (_, sysfs) => {
    const r = replay(REAL);
    try {
      // The sysfs path: each disk's stat file holds the counters of its diskstats line (after the name).
      if (sysfs)
        for (const l of fixture(REAL, 't0', 'proc/diskstats').toString().trim().split('\n')) {
          const [, , name, ...counters] = l.trim().split(/\s+/);
          mkdirSync(join(r.sysRoot, 'class/block', name), { recursive: true });
          writeFileSync(join(r.sysRoot, 'class/block', name, 'stat'), ` ${counters.join(' ')}\n`);
        }
      const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], nets: ['*'], disks: ['*'], readIntervalMs: 0, hz: 1000 });
      const names = listSysStatFields({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], nets: ['*'], disks: ['*'] }).map((f) => f.name);
      // A clock like performance.now(): a double past 2^30 returned from a call (V8 boxes it).
      const clock = new Float64Array([5e9]);
      const s = new SysStatsSampler(discover(o), names, { ...o, now: () => clock[0] });
      s.prime();
      const rec = new Float64Array(names.length);
      const perRecord = heapPerCall(() => {
        clock[0] += 1; // 1 kHz, every file re-read (readIntervalMs 0)
        s.sample(rec);
      });
      s.close();
      expect(names.length).toBeGreaterThan(20);
      expect(perRecord).toBeLessThanOrEqual(24);
    } finally {
      r.dispose();
    }
  });
});
