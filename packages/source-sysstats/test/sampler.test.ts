import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@senseflow/core';
import { SysStatsSampler, discover, listSysStatFields, primeDelayMs, resolveSysStatsOptions } from '@senseflow/source-sysstats';
import { REAL, SYNTH, columns, fixture, realMeta, replay } from './helpers.js';

type Replay = ReturnType<typeof replay>;
const open: Array<{ r: Replay; s?: SysStatsSampler }> = [];
afterEach(() => {
  for (const o of open.splice(0)) {
    o.s?.close();
    o.r.dispose();
  }
});

/** A sampler over a replayed fixture with a scripted clock: prime at t0, sample once at t0 + gapMs after advancing to t1. */
function twoPoint(dir: string, opts: Record<string, unknown>, gapMs: number) {
  const r = replay(dir);
  const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, ...opts });
  const c = discover(o);
  const names = listSysStatFields({ procRoot: r.procRoot, sysRoot: r.sysRoot, ...opts }).map((f) => f.name);
  let t = 1000;
  const lost: string[] = [];
  const s = new SysStatsSampler(c, names, { ...o, now: () => t, onLost: (what) => lost.push(what) });
  open.push({ r, s });
  s.prime();
  r.advance();
  t += gapMs;
  const out = new Float64Array(names.length).fill(-1);
  s.sample(out);
  const get = (n: string) => out[names.indexOf(n)];
  return { r, s, names, out, get, lost, tick: (ms: number) => (t += ms) };
}

const statRow = (t: 't0' | 't1', prefix: string) => columns(fixture(REAL, t, 'proc/stat').toString(), prefix).slice(1, 9).map(Number);

describe('sampler replaying the recorded machine (t0 → t1)', () => {
  const gap = realMeta.elapsedMs;

  it('CPU shares equal the tick deltas of the recording', () => {
    const { get, names } = twoPoint(REAL, { pids: [realMeta.pid], windowMs: 0 }, gap);
    const d = statRow('t1', 'cpu ').map((v, i) => v - statRow('t0', 'cpu ')[i]);
    const total = d.reduce((a, x) => a + x, 0);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = d;
    expect(total).toBeGreaterThan(0);
    expect(get('cpu')).toBeCloseTo((100 * (total - idle - iowait)) / total, 9);
    expect(get('cpu.user')).toBeCloseTo((100 * (user + nice)) / total, 9);
    expect(get('cpu.system')).toBeCloseTo((100 * (system + irq + softirq)) / total, 9);
    expect(get('cpu.iowait')).toBeCloseTo((100 * iowait) / total, 9);
    expect(get('cpu.steal')).toBeCloseTo((100 * steal) / total, 9);
    expect(get('cpu')).toBeCloseTo(get('cpu.user') + get('cpu.system') + get('cpu.steal'), 9);
    for (const n of names.filter((x) => /^cpu\.\d+$/.test(x))) {
      const p = `cpu${n.slice(4)} `;
      const dn = statRow('t1', p).map((v, i) => v - statRow('t0', p)[i]);
      const tn = dn.reduce((a, x) => a + x, 0);
      expect(get(n)).toBeCloseTo((100 * (tn - dn[3] - dn[4])) / tn, 9);
    }
  });

  it('memory and load are the t1 values; process CPU and RSS follow /proc/<pid>/stat', () => {
    const { get } = twoPoint(REAL, { pids: [realMeta.pid] }, gap);
    const mem = fixture(REAL, 't1', 'proc/meminfo').toString();
    const kb = (k: string) => Number(columns(mem, `${k}:`)[1]) * 1024;
    expect(get('mem.total')).toBe(kb('MemTotal'));
    expect(get('mem.available')).toBe(kb('MemAvailable'));
    expect(get('mem.used')).toBe(kb('MemTotal') - kb('MemAvailable'));
    expect(get('mem.cached')).toBe(kb('Cached'));
    expect(get('swap.used')).toBe(kb('SwapTotal') - kb('SwapFree'));
    const load = fixture(REAL, 't1', 'proc/loadavg').toString().split(' ').map(Number);
    expect([get('load.1'), get('load.5'), get('load.15')]).toEqual(load.slice(0, 3));
    const pf = (t: 't0' | 't1') => {
      const s = fixture(REAL, t, `proc/${realMeta.pid}/stat`).toString();
      return s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
    };
    const ticks = pf('t1')[11] + pf('t1')[12] - pf('t0')[11] - pf('t0')[12];
    expect(get(`proc.${realMeta.pid}.cpu`)).toBeCloseTo((ticks / 100 / (gap / 1000)) * 100, 9);
    expect(get(`proc.${realMeta.pid}.rss`)).toBe(pf('t1')[21] * 4096);
  });

  it('network and disk rates are byte deltas over the elapsed time', () => {
    const { get, names } = twoPoint(REAL, { pids: [realMeta.pid], nets: ['*'], disks: ['*'] }, gap);
    const net = (t: 't0' | 't1', n: string) =>
      fixture(REAL, t, 'proc/net/dev').toString().split('\n').find((l) => l.trim().startsWith(`${n}:`))!.split(':')[1].trim().split(/\s+/).map(Number);
    const nets = names.filter((n) => n.startsWith('net.') && n.endsWith('.rx')).map((n) => n.slice(4, -3));
    expect(nets).toContain('lo');
    for (const n of nets) {
      expect(get(`net.${n}.rx`)).toBeCloseTo((net('t1', n)[0] - net('t0', n)[0]) / (gap / 1000), 6);
      expect(get(`net.${n}.tx`)).toBeCloseTo((net('t1', n)[8] - net('t0', n)[8]) / (gap / 1000), 6);
    }
    const disk = (t: 't0' | 't1', d: string) =>
      fixture(REAL, t, 'proc/diskstats').toString().split('\n').map((l) => l.trim().split(/\s+/)).find((c) => c[2] === d)!.map(Number);
    expect(get('disk.vda.read')).toBeCloseTo(((disk('t1', 'vda')[5] - disk('t0', 'vda')[5]) * 512) / (gap / 1000), 6);
    expect(get('disk.vda.write')).toBeCloseTo(((disk('t1', 'vda')[9] - disk('t0', 'vda')[9]) * 512) / (gap / 1000), 6);
  });

  it("disk rates come from each disk's /sys/class/block/<name>/stat when sysfs has it; a failed read is NaN and the file is opened again", () => {
    const r = replay(REAL);
    const stat = join(r.sysRoot, 'class/block/vda/stat');
    mkdirSync(join(r.sysRoot, 'class/block/vda'), { recursive: true });
    // The counters after the name in /proc/diskstats: sectors read are the 3rd, sectors written the 7th.
    const line = (rd: number, wr: number) => `     100        0 ${rd}      50      200        0 ${wr}       70        0       90      120\n`;
    writeFileSync(stat, line(1000, 5000));
    const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], disks: ['vda'], windowMs: 0 });
    let t = 1000;
    const names = ['disk.vda.read', 'disk.vda.write'];
    const s = new SysStatsSampler(discover(o), names, { ...o, now: () => t });
    open.push({ r, s });
    s.prime();
    // /proc/diskstats stays at t0: values that follow the stat file (not the table) prove where they came from.
    writeFileSync(stat, line(1000 + 2048, 5000 + 4096));
    t += 1000;
    const out = new Float64Array(2);
    s.sample(out);
    expect([...out]).toEqual([2048 * 512, 4096 * 512]);
    // A read that fails (here EISDIR: the path is now a directory) gives NaN, not a stale or made-up value …
    s.close();
    const s2 = new SysStatsSampler(discover(o), names, { ...o, now: () => t });
    rmSync(stat);
    mkdirSync(stat);
    s2.prime();
    t += 1000;
    s2.sample(out);
    expect([...out]).toEqual([NaN, NaN]);
    // … and the file is opened again (not on every read: every 100th), so the disk comes back (a re-plugged device).
    rmSync(stat, { recursive: true });
    writeFileSync(stat, line(9000, 9000));
    let reads = 0;
    do {
      t += 1000;
      s2.sample(out);
      reads++;
    } while (Number.isNaN(out[0]) && reads < 200);
    expect(reads).toBeGreaterThan(90); // no open attempt per read after a failure
    expect(reads).toBeLessThanOrEqual(101);
    writeFileSync(stat, line(9000 + 512, 9000));
    t += 1000;
    s2.sample(out);
    expect([...out]).toEqual([512 * 512, 0]);
    s2.close();
  });

  it('default filters: no lo, no loop devices, whole disks only', () => {
    const r = replay(REAL);
    open.push({ r });
    const names = listSysStatFields({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid] }).map((f) => f.name);
    expect(names.some((n) => n.startsWith('net.lo.'))).toBe(false);
    expect(names.some((n) => n.startsWith('disk.loop'))).toBe(false);
    expect(names).toContain('disk.vda.read');
    expect(names.some((n) => n.startsWith('temp.'))).toBe(false);
  });

  it('cgroup v1 (the recording machine): memory usage and the "unlimited" limit as Infinity', () => {
    const { get, names } = twoPoint(REAL, { pids: [realMeta.pid], fields: ['cgroup.*'] }, gap);
    expect(names).toEqual(['cgroup.mem.used', 'cgroup.mem.limit']); // cpu controllers are the root there
    const dir = 'sys/fs/cgroup/memory';
    const file = (f: string) => {
      const find = (d: string): string => {
        const p = `${d}/${f}`;
        if (existsSync(p)) return p;
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) {
          const r = find(`${d}/${e.name}`);
          if (r) return r;
        }
        return '';
      };
      return Number(readFileSync(find(`${REAL}/t1/${dir}`), 'utf8').trim());
    };
    expect(get('cgroup.mem.used')).toBe(file('memory.usage_in_bytes'));
    expect(file('memory.limit_in_bytes')).toBeGreaterThan(2 ** 62);
    expect(get('cgroup.mem.limit')).toBe(Infinity);
  });

  it('the first sample after prime is complete: no NaN anywhere', () => {
    const { out, names } = twoPoint(REAL, { pids: [realMeta.pid] }, primeDelayMs(100));
    expect(names.length).toBeGreaterThan(15);
    // (Infinity is a value here: the cgroup has no memory limit.)
    expect(names.filter((_, i) => Number.isNaN(out[i]) || out[i] === -1)).toEqual([]);
  });
});

describe('sampler replaying a container (synthetic cgroup v2, thermal, hwmon)', () => {
  it('reports cgroup usage and limits and every temperature sensor', () => {
    const { get, names, r, s, tick } = twoPoint(SYNTH, { fields: ['cgroup.*', 'temp.*'], pids: [realMeta.pid] }, 1000);
    expect(names).toEqual([
      'temp.x86_pkg_temp',
      'temp.acpitz',
      'temp.coretemp.package_id_0',
      'temp.coretemp.core_0',
      'temp.nvme.temp1',
      'cgroup.cpu',
      'cgroup.cpu.limit',
      'cgroup.mem.used',
      'cgroup.mem.limit',
    ]);
    expect(get('cgroup.cpu')).toBeCloseTo(75, 9);
    expect(get('cgroup.cpu.limit')).toBe(1.5);
    expect(get('cgroup.mem.used')).toBe(110100480);
    expect(get('cgroup.mem.limit')).toBe(Infinity);
    expect([get('temp.x86_pkg_temp'), get('temp.acpitz'), get('temp.coretemp.package_id_0'), get('temp.coretemp.core_0'), get('temp.nvme.temp1')]).toEqual([
      48.5, 27.8, 49, 46, 38.85,
    ]);
    // A sensor that starts failing reads NaN, and recovers on its own.
    r.write('sys/class/thermal/thermal_zone1/temp', 'garbage\n');
    tick(1000);
    const out = new Float64Array(names.length);
    s.sample(out);
    expect(Number.isNaN(out[1])).toBe(true);
    r.write('sys/class/thermal/thermal_zone1/temp', '30000\n');
    tick(1000);
    s.sample(out);
    expect(out[1]).toBe(30);
  });
});

describe('sampler behaviour', () => {
  it('cgroup limits are re-read at most once a second; usage at every read', () => {
    const r = replay(SYNTH);
    const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], hz: 1000 });
    let t = 0;
    const names = ['cgroup.mem.used', 'cgroup.mem.limit', 'cgroup.cpu.limit'];
    const s = new SysStatsSampler(discover(o), names, { ...o, now: () => t });
    open.push({ r, s });
    s.prime();
    const out = new Float64Array(names.length);
    s.sample(out);
    expect([out[1], out[2]]).toEqual([Number(fixture(SYNTH, 't0', 'sys/fs/cgroup/memory.max').toString()), 1.5]);
    r.write('sys/fs/cgroup/memory.current', '4096\n');
    r.write('sys/fs/cgroup/memory.max', '1048576\n');
    r.write('sys/fs/cgroup/cpu.max', '50000 100000\n');
    let limitSeenAt = -1;
    for (t = 10; t <= 1000; t += 10) {
      s.sample(out);
      if (t === 10) expect(out[0]).toBe(4096); // usage: the next read
      if (limitSeenAt < 0 && out[1] === 1048576) limitSeenAt = t;
    }
    expect(limitSeenAt).toBeGreaterThan(900); // limits: not before their second
    expect([out[1], out[2]]).toEqual([1048576, 0.5]);
  });

  it('a zombie (exited, not yet reaped) is lost, not a process with 0 bytes RSS', () => {
    const r = replay(REAL);
    const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], fields: ['proc.*'] });
    let t = 0;
    const lost: string[] = [];
    const names = [`proc.${realMeta.pid}.cpu`, `proc.${realMeta.pid}.rss`];
    const s = new SysStatsSampler(discover(o), names, { ...o, now: () => t, onLost: (w) => lost.push(w) });
    open.push({ r, s });
    s.prime();
    t += 100;
    const out = new Float64Array(2);
    s.sample(out);
    expect(Number.isFinite(out[1])).toBe(true);
    const stat = fixture(REAL, 't0', `proc/${realMeta.pid}/stat`).toString();
    const close = stat.lastIndexOf(')');
    const zombie = `${stat.slice(0, close + 2)}Z${stat.slice(close + 3)}`; // state letter R/S → Z
    r.write(`proc/${realMeta.pid}/stat`, zombie);
    for (let i = 0; i < 2; i++) {
      t += 100;
      s.sample(out);
      expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    }
    expect(lost).toEqual([`process ${realMeta.pid}`]);
  });

  it('keeps the last CPU value when no tick elapsed (reading faster than USER_HZ)', () => {
    const r = replay(REAL);
    const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], hz: 1000, windowMs: 0, readIntervalMs: 0 });
    let t = 0;
    const s = new SysStatsSampler(discover(o), ['cpu'], { ...o, now: () => t });
    open.push({ r, s });
    s.prime();
    r.advance();
    t += 20;
    const out = new Float64Array(1);
    s.sample(out);
    const first = out[0];
    expect(first).toBeGreaterThan(0);
    t += 1; // same file content: zero ticks elapsed
    s.sample(out);
    expect(out[0]).toBe(first);
  });

  it('re-reads a file at most every readIntervalMs; records in between repeat its values', () => {
    const r = replay(REAL);
    const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], hz: 1000, readIntervalMs: 10 });
    let t = 0;
    const s = new SysStatsSampler(discover(o), ['mem.used'], { ...o, now: () => t });
    open.push({ r, s });
    s.prime();
    const out = new Float64Array(1);
    s.sample(out);
    const before = out[0];
    r.write('proc/meminfo', 'MemTotal: 1000 kB\nMemAvailable: 400 kB\n');
    t += 1;
    s.sample(out);
    expect(out[0]).toBe(before); // not due yet
    t += 9;
    s.sample(out);
    expect(out[0]).toBe(600 * 1024);
  });

  it('rates use a sliding window of at least windowMs', () => {
    const r = replay(REAL);
    const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], hz: 100, windowMs: 30, readIntervalMs: 0, nets: ['eth0'] });
    let t = 0;
    const s = new SysStatsSampler(discover(o), ['net.eth0.rx'], { ...o, now: () => t });
    open.push({ r, s });
    const dev = (rx: number) => `h1\nh2\n  eth0: ${rx} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`;
    r.write('proc/net/dev', dev(0));
    s.prime();
    const out = new Float64Array(1);
    const seen: number[] = [];
    // 10 ms records; 1000 bytes arrive in each of the first three, then nothing.
    for (const rx of [1000, 2000, 3000, 3000, 3000, 3000]) {
      r.write('proc/net/dev', dev(rx));
      t += 10;
      s.sample(out);
      seen.push(Math.round(out[0]));
    }
    // Window = 3 reads: the rate ramps in from the prime read, holds at 100 kB/s, then decays to 0 as the burst leaves the window.
    expect(seen).toEqual([100000, 100000, 100000, 66667, 33333, 0]);
  });

  it('a counter that goes backwards (interface re-created) gives NaN, not a negative rate', () => {
    const r = replay(REAL);
    const o = resolveSysStatsOptions({ procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], windowMs: 0, nets: ['eth0'] });
    let t = 0;
    const s = new SysStatsSampler(discover(o), ['net.eth0.tx'], { ...o, now: () => t });
    open.push({ r, s });
    s.prime();
    r.write('proc/net/dev', 'h1\nh2\n  eth0: 0 0 0 0 0 0 0 0 5 0 0 0 0 0 0 0\n');
    t += 100;
    const out = new Float64Array(1);
    s.sample(out);
    expect(Number.isNaN(out[0])).toBe(true);
  });
});

describe('options and field selection', () => {
  it('selects by exact name and by pattern, in catalog order', () => {
    const f = listSysStatFields({ fields: ['mem.*', 'cpu'] }).map((x) => x.name);
    expect(f).toEqual(['cpu', 'mem.total', 'mem.available', 'mem.used', 'mem.cached']);
    const cpus = listSysStatFields({ fields: ['cpu*'] }).map((x) => x.name);
    expect(cpus.slice(0, 5)).toEqual(['cpu', 'cpu.user', 'cpu.system', 'cpu.iowait', 'cpu.steal']);
    expect(cpus.filter((n) => /^cpu\.\d+$/.test(n)).length).toBeGreaterThan(0);
  });

  it('every field has a unit', () => {
    for (const f of listSysStatFields()) expect(f.unit, f.name).toMatch(/^(%|bytes|bytes\/s|tasks|°C|cores)$/);
  });

  it('names the bad parameter', () => {
    const bad = (o: unknown, param: string) => {
      try {
        listSysStatFields(o as never);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidOptionError);
        expect((e as InvalidOptionError).parameter).toBe(param);
        return (e as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(o)}`);
    };
    expect(bad({ hz: 2000 }, 'hz')).toMatch(/0.1 to 1000/);
    expect(bad({ hz: 0.05 }, 'hz')).toMatch(/0.1 to 1000/);
    expect(bad({ fields: ['gpu*'] }, 'fields')).toMatch(/cpu, cpu.user/);
    expect(bad({ pids: [-1] }, 'pids')).toMatch(/process ids/);
    expect(bad({ nets: ['wlan9'] }, 'nets')).toMatch(/eth0|lo/);
    expect(bad({ backend: 'wmi' }, 'backend')).toMatch(/auto, procfs, os/);
    expect(bad({ color: 'red' }, 'color')).toMatch(/hz, fields/);
  });

  it('a PID that does not exist is a DeviceNotFoundError', () => {
    expect(() => listSysStatFields({ pids: [2 ** 22 + 12345] })).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it('the os fallback offers the documented subset', () => {
    const names = listSysStatFields({ backend: 'os' }).map((f) => f.name);
    expect(names.slice(0, 3)).toEqual(['cpu', 'cpu.user', 'cpu.system']);
    expect(names).toEqual(expect.arrayContaining(['mem.total', 'mem.available', 'mem.used', 'load.1', `proc.${process.pid}.cpu`, `proc.${process.pid}.rss`]));
    expect(names.some((n) => /^(net|disk|temp|cgroup|swap)\./.test(n) || n === 'cpu.iowait')).toBe(false);
    expect(() => listSysStatFields({ backend: 'os', pids: [1] })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
