import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ByteScanner,
  MEMINFO_SLOTS,
  Meminfo,
  PID_STAT_SLOTS,
  PidStat,
  STAT_COLS,
  listDiskstatsNames,
  listNetDevNames,
  listStatCpus,
  parseCgroupCpuMax,
  parseCgroupCpuStat,
  parseCgroupValue,
  parseCgroupV1Bytes,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMilliCelsius,
  parseNetDev,
  parsePidStat,
  parseProcStat,
  readPageSize,
} from '@senseflow/source-sysstats';
import { REAL, SYNTH, columns, fixture, realMeta } from './helpers.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('parseProcStat (recorded /proc/stat)', () => {
  for (const t of ['t0', 't1'] as const) {
    it(`matches a string split of every cpu line (${t})`, () => {
      const buf = fixture(REAL, t, 'proc/stat');
      const text = buf.toString('latin1');
      const cpus = listStatCpus(text);
      expect(cpus.length).toBeGreaterThan(0);
      const rows = Math.max(...cpus) + 2;
      const out = new Float64Array(rows * STAT_COLS);
      expect(parseProcStat(buf, buf.length, out, 0, rows)).toBe(cpus.length + 1);
      const want = (prefix: string) => columns(text, prefix).slice(1, 9).map(Number);
      expect([...out.subarray(0, 8)]).toEqual(want('cpu '));
      for (const n of cpus) expect([...out.subarray((n + 1) * 8, (n + 2) * 8)]).toEqual(want(`cpu${n} `));
    });
  }

  it('leaves offline CPUs NaN and ignores rows beyond the buffer', () => {
    const text = 'cpu  10 0 5 100 1 0 0 0 0 0\ncpu0 5 0 2 50 1 0 0 0 0 0\ncpu2 5 0 3 50 0 0 0 0 0 0\nintr 1 2 3\n';
    const out = new Float64Array(3 * STAT_COLS);
    expect(parseProcStat(b(text), text.length, out, 0, 3)).toBe(2); // cpu2 is row 3: beyond
    expect(out[8]).toBe(5);
    expect(Number.isNaN(out[16])).toBe(true); // cpu1 offline
  });

  it('reads only the valid length of a larger buffer', () => {
    const text = 'cpu  1 2 3 4 5 6 7 8 0 0\n';
    const buf = Buffer.alloc(4096, 0x39); // garbage '9's after the content
    buf.write(text, 'latin1');
    const out = new Float64Array(STAT_COLS);
    parseProcStat(buf, text.length, out, 0, 1);
    expect([...out]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('parseMeminfo (recorded /proc/meminfo)', () => {
  it('gives bytes equal to kB × 1024 from a string split', () => {
    const buf = fixture(REAL, 't0', 'proc/meminfo');
    const text = buf.toString('latin1');
    const out = new Float64Array(MEMINFO_SLOTS);
    parseMeminfo(buf, buf.length, out);
    const kb = (k: string) => Number(columns(text, `${k}:`)[1]) * 1024;
    expect(out[Meminfo.total]).toBe(kb('MemTotal'));
    expect(out[Meminfo.free]).toBe(kb('MemFree'));
    expect(out[Meminfo.available]).toBe(kb('MemAvailable'));
    expect(out[Meminfo.buffers]).toBe(kb('Buffers'));
    expect(out[Meminfo.cached]).toBe(kb('Cached')); // not SwapCached
    expect(out[Meminfo.swapTotal]).toBe(kb('SwapTotal'));
    expect(out[Meminfo.swapFree]).toBe(kb('SwapFree'));
  });

  it('leaves missing keys NaN (old kernels without MemAvailable)', () => {
    const text = 'MemTotal: 1000 kB\nMemFree: 500 kB\nCached: 100 kB\n';
    const out = new Float64Array(MEMINFO_SLOTS);
    parseMeminfo(b(text), text.length, out);
    expect(out[Meminfo.total]).toBe(1024000);
    expect(out[Meminfo.cached]).toBe(102400);
    expect(Number.isNaN(out[Meminfo.available])).toBe(true);
  });
});

describe('parseLoadavg', () => {
  it('matches the recorded file', () => {
    const buf = fixture(REAL, 't1', 'proc/loadavg');
    const out = new Float64Array(3);
    parseLoadavg(buf, buf.length, out);
    expect([...out]).toEqual(buf.toString().split(' ').slice(0, 3).map(Number));
  });
});

describe('parsePidStat', () => {
  it('matches the recorded /proc/<pid>/stat', () => {
    const buf = fixture(REAL, 't1', `proc/${realMeta.pid}/stat`);
    const text = buf.toString();
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const out = new Float64Array(PID_STAT_SLOTS);
    parsePidStat(buf, buf.length, out);
    expect(out[PidStat.utime]).toBe(Number(f[11]));
    expect(out[PidStat.stime]).toBe(Number(f[12]));
    expect(out[PidStat.rssPages]).toBe(Number(f[21]));
    expect(String.fromCharCode(out[PidStat.state])).toBe(f[0]);
  });

  it('survives any command name (spaces, parentheses, digits)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ' ', ')', '(', '1', 'x') , maxLength: 15 }), fc.nat(1e9), fc.nat(1e9), fc.nat(1e9), (comm, ut, st, rss) => {
        const text = `42 (${comm}) S 1 42 42 0 -1 4194560 100 0 0 0 ${ut} ${st} 0 0 20 0 1 0 100 1000000 ${rss} 184467 1 1 0 0 0\n`;
        const out = new Float64Array(PID_STAT_SLOTS);
        parsePidStat(b(text), text.length, out);
        expect([out[0], out[1], out[2]]).toEqual([ut, st, rss]);
      }),
    );
  });

  it('finds the page size in the recorded auxv', () => {
    expect(readPageSize(`${REAL}/t0/proc`)).toBe(4096);
    expect(readPageSize('/nonexistent')).toBe(4096);
  });
});

describe('parseNetDev and parseDiskstats (recorded)', () => {
  it('net: rx/tx bytes per interface match a string split; absent interfaces are NaN', () => {
    const buf = fixture(REAL, 't1', 'proc/net/dev');
    const text = buf.toString();
    const names = [...listNetDevNames(text), 'nope0'];
    expect(names).toContain('lo');
    const out = new Float64Array(2 * names.length);
    parseNetDev(buf, buf.length, names.map(b), out);
    names.slice(0, -1).forEach((n, k) => {
      const cols = text.split('\n').find((l) => l.trim().startsWith(`${n}:`))!.split(':')[1].trim().split(/\s+/).map(Number);
      expect([out[2 * k], out[2 * k + 1]]).toEqual([cols[0], cols[8]]);
    });
    expect(Number.isNaN(out[out.length - 1])).toBe(true);
  });

  it('disk: bytes = 512 × sectors from a string split; a prefix name does not match', () => {
    const buf = fixture(REAL, 't1', 'proc/diskstats');
    const text = buf.toString();
    const names = listDiskstatsNames(text);
    expect(names).toContain('vda');
    const out = new Float64Array(2 * names.length);
    parseDiskstats(buf, buf.length, names.map(b), out);
    names.forEach((n, k) => {
      const cols = text.split('\n').map((l) => l.trim().split(/\s+/)).find((c) => c[2] === n)!;
      expect([out[2 * k], out[2 * k + 1]]).toEqual([Number(cols[5]) * 512, Number(cols[9]) * 512]);
    });
    const one = new Float64Array(2);
    parseDiskstats(buf, buf.length, [b('vd')], one);
    expect(Number.isNaN(one[0])).toBe(true);
  });
});

describe('sysfs / cgroup single-value files', () => {
  it('temperatures are millidegrees', () => {
    const buf = fixture(SYNTH, 't1', 'sys/class/thermal/thermal_zone0/temp');
    expect(parseMilliCelsius(buf, buf.length)).toBe(48.5);
    expect(parseMilliCelsius(b('-5000\n'), 6)).toBe(-5);
  });
  it('cgroup v2 cpu.stat, cpu.max, memory.max', () => {
    const stat = fixture(SYNTH, 't1', 'sys/fs/cgroup/cpu.stat');
    expect(parseCgroupCpuStat(stat, stat.length)).toBe(5750000);
    expect(Number.isNaN(parseCgroupCpuStat(b('user_usec 5\n'), 12))).toBe(true);
    expect(parseCgroupCpuMax(b('150000 100000\n'), 14)).toBe(1.5);
    expect(parseCgroupCpuMax(b('max 100000\n'), 11)).toBe(Infinity);
    expect(parseCgroupValue(b('max\n'), 4)).toBe(Infinity);
    expect(parseCgroupValue(b('536870912\n'), 10)).toBe(536870912);
  });
});

describe('ByteScanner.number (property)', () => {
  it('round-trips integers and short decimals', () => {
    const sc = new ByteScanner();
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), (n) => {
        const t = b(`  ${n} `);
        expect(sc.reset(t, t.length).number()).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.nat(100000), fc.nat(99), (i, f) => {
        const s = `${i}.${String(f).padStart(2, '0')}`;
        const t = b(s);
        expect(sc.reset(t, t.length).number()).toBe(Number(s));
      }),
    );
  });
  it('never throws on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const big = new Float64Array(64);
        parseProcStat(buf, buf.length, big, 0, 8);
        parseMeminfo(buf, buf.length, big);
        parsePidStat(buf, buf.length, big);
        parseNetDev(buf, buf.length, [b('eth0')], big);
        parseDiskstats(buf, buf.length, [b('sda')], big);
        parseLoadavg(buf, buf.length, big);
      }),
    );
  });
});

describe('cgroup v1 values', () => {
  it('the "unlimited" memory limit is Infinity; real usage is bytes', () => {
    const b2 = (s: string) => Buffer.from(s);
    expect(parseCgroupV1Bytes(b2('9223372036854771712\n'), 20)).toBe(Infinity);
    expect(parseCgroupV1Bytes(b2('7159808\n'), 8)).toBe(7159808);
  });
});
