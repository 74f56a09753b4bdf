#!/usr/bin/env node
// sysstats benchmark: cost per sample and share of a core at 1 kHz, side by side in one run with
//   - systeminformation (currentLoad() + mem(), the popular npm package),
//   - a naive parser (readFileSync + split of /proc/stat, /proc/meminfo, /proc/loadavg, /proc/self/stat),
//   - @senseflow/source-sysstats (the sampler in-process, and the real source in its worker).
// Usage: node bench/sysstats.bench.mjs [--seconds 3] [--quick] [--json]
// Build first: pnpm --filter @senseflow/source-sysstats... build
import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import si from 'systeminformation';
import { sleepUntil } from '@senseflow/core';
import { ProcFile, SysStatsSampler, discover, listSysStatFields, openSysStats, resolveSysStatsOptions } from '@senseflow/source-sysstats';
import { loadAverage } from './load.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const QUICK = process.argv.includes('--quick');
const SECONDS = Number(arg('seconds', QUICK ? 1 : 3));
const JSON_OUT = process.argv.includes('--json');
const now = () => Number(process.hrtime.bigint()) / 1e3; // µs
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ---- the naive baseline: what a quick script does (strings and splits every sample) ----
function naiveSample() {
  const stat = readFileSync('/proc/stat', 'utf8').split('\n');
  const cpus = stat.filter((l) => l.startsWith('cpu')).map((l) => l.trim().split(/\s+/).slice(1, 9).map(Number));
  const mem = Object.fromEntries(
    readFileSync('/proc/meminfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [k, v] = l.split(':');
        return [k, parseInt(v, 10) * 1024];
      }),
  );
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  const self = readFileSync('/proc/self/stat', 'utf8');
  const after = self.slice(self.lastIndexOf(')') + 2).split(' ');
  return { cpus, used: mem.MemTotal - mem.MemAvailable, load, ticks: Number(after[11]) + Number(after[12]), rss: Number(after[21]) };
}

// ---- senseflow sampler in-process, driven by a simulated 1 kHz clock (so read-interval gating is real) ----
// Back-to-back calls would let the read interval skip almost every read; a simulated clock advancing 1 ms per
// record does exactly the reads a real 1 kHz stream does. (It is a Float64Array cell, so the value comes back
// as a boxed double like performance.now(): same allocation profile as the real clock.)
function makeSampler(fields, readIntervalMs) {
  const o = resolveSysStatsOptions({ hz: 1000, fields, readIntervalMs });
  const c = discover(o);
  const names = listSysStatFields({ fields }).map((f) => f.name);
  const clock = new Float64Array([1e6 + 0.5]);
  const s = new SysStatsSampler(c, names, { ...o, now: () => clock[0] });
  s.prime();
  clock[0] += s.primeMs;
  const out = new Float64Array(names.length);
  return {
    names,
    sample() {
      clock[0] += 1;
      s.sample(out);
    },
    /** For the real-time 1 kHz run: the real clock. */
    realtime() {
      const r = new SysStatsSampler(c, names, o);
      r.prime();
      const rout = new Float64Array(names.length);
      return { sample: () => r.sample(rout), close: () => r.close() };
    },
    close: () => s.close(),
  };
}

async function perSample(label, fn, iterations, sync = false) {
  for (let i = 0; i < Math.min(2000, iterations); i++) sync ? fn() : await fn(); // warm up (JIT)
  const t0 = now();
  const c0 = cpuUs();
  if (sync) for (let i = 0; i < iterations; i++) fn();
  else for (let i = 0; i < iterations; i++) await fn();
  const wall = (now() - t0) / iterations;
  const cpu = (cpuUs() - c0) / iterations;
  return { label, usPerSample: wall, cpuUsPerSample: cpu, heapBytesPerSample: await heapPerSample(fn, sync) };
}

/** Heap growth per call over a stretch with no GC in it (retries a few times to find one). */
async function heapPerSample(fn, sync) {
  let gcs = 0;
  const obs = new PerformanceObserver((l) => (gcs += l.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  try {
    // Heavy allocators trigger a GC within 500 calls: shorten the stretch until one fits between GCs.
    for (let attempt = 0; attempt < 12; attempt++) {
      await new Promise((r) => setTimeout(r, 20));
      gcs = 0;
      const n = attempt < 4 ? 500 : attempt < 8 ? 50 : 5;
      const h0 = process.memoryUsage().heapUsed;
      if (sync) for (let i = 0; i < n; i++) fn();
      else for (let i = 0; i < n; i++) await fn();
      const h1 = process.memoryUsage().heapUsed;
      await new Promise((r) => setTimeout(r, 0)); // let the observer report
      if (gcs === 0 && h1 >= h0) return (h1 - h0) / n;
    }
  } finally {
    obs.disconnect();
  }
  return NaN;
}

/** Runs `fn` on 1 ms absolute deadlines for SECONDS and returns the process CPU it used, as % of one core. */
async function atOneKhz(label, fn) {
  const period = 1_000_000n;
  let deadline = process.hrtime.bigint() + period;
  const end = deadline + BigInt(SECONDS * 1e9);
  const c0 = cpuUs();
  const w0 = now();
  let n = 0;
  let late = 0;
  while (deadline < end) {
    await sleepUntil(deadline);
    await fn();
    n++;
    deadline += period;
    const t = process.hrtime.bigint();
    if (t > deadline + period) {
      const skip = (t - deadline) / period;
      late += Number(skip);
      deadline += skip * period;
    }
    if ((n & 15) === 0) await new Promise((r) => setImmediate(r));
  }
  const wall = now() - w0;
  return { label, corePct: ((cpuUs() - c0) / wall) * 100, samples: n, skipped: late };
}

/** On-CPU ns of every thread of this process (schedstat: ns resolution; stat ticks are 10 ms). */
function threadTimes() {
  const m = new Map();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      m.set(t, Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]));
    } catch {}
  }
  return m;
}

/** The real source at 1 kHz in its worker, nobody subscribed: process CPU above an idle baseline. */
async function workerAtOneKhz(fields) {
  const src = await openSysStats({ hz: 1000, fields }, { autoStart: false });
  await new Promise((r) => setTimeout(r, 300));
  // Baseline: the same process with the source open but stopped.
  let c0 = cpuUs();
  let w0 = now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const idlePct = ((cpuUs() - c0) / (now() - w0)) * 100;
  await src.start();
  await new Promise((r) => setTimeout(r, 300)); // past priming and JIT warm-up
  const head0 = src.drops();
  const th0 = threadTimes();
  c0 = cpuUs();
  w0 = now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const wall = now() - w0;
  const busyPct = ((cpuUs() - c0) / wall) * 100;
  const th1 = threadTimes();
  let top = 0;
  for (const [t, v] of th1) top = Math.max(top, v - (th0.get(t) ?? v));
  const drops = src.drops();
  await src.close();
  return {
    label: `senseflow source in its worker (${fields ? fields.join(',') : 'all fields'})`,
    corePct: busyPct - idlePct,
    workerThreadPct: (top / 1e3 / wall) * 100, // ns → µs, over wall µs
    driverDrops: drops.driver - head0.driver,
  };
}

const fieldsAll = undefined;
const fieldsNaive = ['cpu*', 'mem.*', 'load.*', 'proc.*'];
const fieldsSi = ['cpu*', 'mem.*', 'swap.used'];
const results = {
  machine: {
    cpus: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length,
    node: process.version,
    date: new Date().toISOString(),
    loadBefore: loadAverage(),
  },
  perSample: [],
  oneKhz: [],
};

const sfAll = makeSampler(fieldsAll, 10);
const sfAllEvery = makeSampler(fieldsAll, 0);
const sfNaive = makeSampler(fieldsNaive, 0);
const sfSi = makeSampler(fieldsSi, 0);
const N = QUICK ? 4000 : 20000;
results.perSample.push(await perSample(`senseflow sampler: all ${sfAll.names.length} fields, defaults (each file re-read at most every 10 ms)`, () => sfAll.sample(), N, true));
results.perSample.push(await perSample(`senseflow sampler: all ${sfAllEvery.names.length} fields, every file re-read every sample`, () => sfAllEvery.sample(), N, true));
// The kernel's share: pread of the files the sampler reads, with no parsing (what no parser can go below).
// Disks: each default disk's /sys/class/block/<name>/stat, against /proc/diskstats (every block device).
const disks = sfAll.names.filter((n) => /^disk\..*\.read$/.test(n)).map((n) => n.slice(5, -5));
const diskFiles = disks.map((d) => new ProcFile(`/sys/class/block/${d}/stat`, 256));
const rawFiles = ['/proc/stat', '/proc/meminfo', '/proc/loadavg', '/proc/self/stat', '/proc/net/dev'].map((p) => new ProcFile(p)).concat(diskFiles);
results.perSample.push(
  await perSample(`floor: pread of the ${rawFiles.length} files the sampler reads, no parsing, every sample`, () => rawFiles.forEach((f) => f.read()), N, true),
);
const diskstats = new ProcFile('/proc/diskstats');
results.perSample.push(await perSample('pread /proc/diskstats (every block device)', () => diskstats.read(), N, true));
results.perSample.push(await perSample(`pread /sys/class/block/<d>/stat of the default disks (${disks.join(', ')})`, () => diskFiles.forEach((f) => f.read()), N, true));
rawFiles.forEach((f) => f.close());
diskstats.close();
results.perSample.push(await perSample(`senseflow sampler: ${sfNaive.names.length} fields like the naive parser (cpu, mem, load, self), every sample`, () => sfNaive.sample(), N, true));
results.perSample.push(await perSample('naive readFileSync + split (cpu, mem, load, self)', naiveSample, N / 4, true));
results.perSample.push(await perSample(`senseflow sampler: ${sfSi.names.length} fields like systeminformation (cpu, mem), every sample`, () => sfSi.sample(), N, true));
results.perSample.push(await perSample('systeminformation currentLoad() + mem()', () => Promise.all([si.currentLoad(), si.mem()]), 2000));

const rt = sfAll.realtime();
results.oneKhz.push(await atOneKhz('the bench loop alone (pacing overhead, included in every row)', () => {}));
results.oneKhz.push(await atOneKhz(`senseflow sampler in-process, all fields, defaults`, rt.sample));
results.oneKhz.push(await atOneKhz('naive readFileSync + split', naiveSample));
results.oneKhz.push(await atOneKhz('systeminformation currentLoad() + mem()', () => Promise.all([si.currentLoad(), si.mem()])));
rt.close();
for (const s of [sfAll, sfAllEvery, sfNaive, sfSi]) s.close();
results.worker = [await workerAtOneKhz(fieldsAll)];

results.machine.loadAfter = loadAverage();
if (JSON_OUT) console.log(JSON.stringify(results, null, 2));
else {
  const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  console.log(`${results.machine.date}  machine: ${results.machine.cpus} CPUs, node ${results.machine.node}, load average before ${results.machine.loadBefore}, after ${results.machine.loadAfter}`);
  console.log('\nper sample (simulated 1 kHz; lower is better)        wall µs    CPU µs   heap B');
  for (const r of results.perSample) console.log(`  ${f(r.usPerSample).padStart(9)} ${f(r.cpuUsPerSample).padStart(9)} ${f(r.heapBytesPerSample, 0).padStart(8)}   ${r.label}`);
  console.log(`\n% of one core at 1 kHz, real time, ${SECONDS} s (process CPU / wall time)`);
  for (const r of results.oneKhz) console.log(`  ${f(r.corePct).padStart(7)} %  ${r.label} (${r.samples} samples, ${r.skipped} deadlines missed)`);
  for (const r of results.worker)
    console.log(
      `  ${f(r.corePct).padStart(7)} %  ${r.label}: process CPU above the same process idle; busiest thread ${f(r.workerThreadPct)} %; driver drops ${r.driverDrops}`,
    );
}
