#!/usr/bin/env node
/**
 * FFT throughput, real single-precision forward transforms per CPU-second at N = 1024, 4096, 65536, all in
 * the same run, interleaved round by round. Time is CPU time (process CPU clock, read once per ~2 ms block of
 * calls on both sides), so time spent waiting for a CPU on this shared machine does not count; the ratio to FFTW from C is taken per round and its median
 * reported, with the load average before and after.
 *
 *   fftw-c        FFTW called from C doing the SAME work as senseflow's batched call: k different inputs
 *                 back to back (k × N floats) into a packed k × (N/2+1) complex output, FFTW_MEASURE — the
 *                 faster of one fftwf_plan_many_dft_r2c over the k rows and a per-row new-array execute
 *                 (misaligned output rows through an aligned buffer). The baseline of the ratios. It imports
 *                 the senseflow engine's wisdom, so both run the same FFTW plans.
 *   fftw-c-1buf   FFTW from C, one in-cache transform repeated (no new data, nothing leaves L1/L2): an upper
 *                 limit for reference, not the same work. Both compiled now: cc -O2 … -lfftw3f
 *   numpy         numpy.fft.rfft on float32 input, batched (k × N array) — python3-numpy
 *   senseflow     @senseflow/sinks FFTW engine through the public JS API, batched forwardBatch (k per call)
 *   senseflow-1   the same, one transform per call (shows the JS → native call cost)
 *   senseflow-js  @senseflow/sinks JS fallback engine (no addon)
 *   fft.js, kissfft-js, pffft-wasm (SIMD)   other JS/WASM real FFTs
 *
 * Then the CPU of a live 48 kHz stereo spectrogram (N = 4096, 50 % overlap) on the tone source: process CPU
 * with the spectrum running minus the same source without it, default coalescing and per-hop; and per thread
 * (Linux: /proc/self/task/<tid>/schedstat): main, source worker, spectrum worker, Node's other threads.
 *
 * Then the same in steady state: the spectrum's cost per second after it settled (--settle, default 20 s),
 * and its start-up separately (--coalesce MS[,MS…]: with those coalesceMs values instead of the default,
 * alternating within each round).
 *
 * Usage: node bench/fft.bench.mjs [--quick] [--only live|steady|fft] [--rounds N] [--settle S] [--coalesce MS[,MS…]] [--json out.json]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { loadAverage as load } from './load.mjs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
/** `--only live`: just the live spectrogram parts; `--only steady`: just its steady state; `--only fft`: just the throughput part. */
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
if (only !== null && !['live', 'steady', 'fft'].includes(only)) throw new Error(`--only: expected one of live, steady, fft but received '${only}'`);
const SIZES = [1024, 4096, 65536];
const ROUNDS = quick ? 3 : 7;
const SECS = quick ? 0.2 : 0.4;
const load0 = load();
console.log(`${new Date().toISOString()}  load average before: ${load0}`);

const sinks = await import('@senseflow/sinks');
// Comparison libraries are devDependencies of @senseflow/sinks.
const requireFromSinks = createRequire(createRequire(import.meta.url).resolve('@senseflow/sinks'));

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Runs fn() repeatedly for ~SECS of CPU time; returns transforms per CPU-second. The clock is read once per
 * block of calls (sized to ~2 ms), not per call: process.cpuUsage() costs ~1 µs, as much as a 1024-point
 * FFT, and would be billed to the candidate (the C program times blocks the same way).
 */
function rate(fn, perCall) {
  for (let i = 0; i < 3; i++) fn(); // warm up (JIT, caches)
  let block = 1;
  for (;;) {
    const t = cpuMs();
    for (let i = 0; i < block; i++) fn();
    if (cpuMs() - t >= 2 || block >= 1 << 20) break;
    block *= 2;
  }
  let calls = 0;
  const t0 = cpuMs();
  let el;
  do {
    for (let i = 0; i < block; i++) fn();
    calls += block;
    el = cpuMs() - t0;
  } while (el < SECS * 1000);
  return (calls * perCall) / (el / 1000);
}

function noise(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.37) + ((i * 7919) % 1000) / 1000 - 0.5;
  return x;
}

/** Transforms per call for batched candidates: 16 up to N = 4096, fewer above (64 Ki floats in). */
const batchOf = (n) => (n <= 4096 ? 16 : Math.max(1, Math.floor(65536 / n)));

/** The median (the mean of the middle two for an even count). */
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

let samples = null;
let ratios = null;
/** Part 1: transforms per CPU-second against FFTW from C (left out with --only live). */
async function throughputPart() {
  // ---- candidates ------------------------------------------------------------------------------

  const dir = mkdtempSync(join(tmpdir(), 'sf-fft-bench-'));
  /**
   * The senseflow engine's FFTW wisdom (its plans for every size, measured once below), handed to the C program
   * so both sides run the SAME plans: FFTW_MEASURE picks among algorithms by timing them, and on a busy machine
   * two planners can pick differently (±10–25 % per transform, seen between C runs); the ratio is then about
   * the binding, not the planner's luck.
   */
  let wisdomFile = null;
  let fftwC = null;
  let fftwC1 = null;
  try {
    const src = join(dir, 'fftw.c');
    writeFileSync(
      src,
      `#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static int n,k,bins; static float*in; static fftwf_complex*out,*tmp; static fftwf_plan many,one;
static void run_many(void){ fftwf_execute(many); }
static void run_rows(void){ for(int t=0;t<k;t++){ fftwf_complex*d=out+(size_t)t*bins;
  if(fftwf_alignment_of((float*)d)==0) fftwf_execute_dft_r2c(one,in+(size_t)t*n,d);
  else { fftwf_execute_dft_r2c(one,in+(size_t)t*n,tmp); memcpy(d,tmp,sizeof(fftwf_complex)*bins); } } }
static void run_1buf(void){ for(int t=0;t<k;t++) fftwf_execute_dft_r2c(one,in,tmp); }
/* The clock is read once per block of calls (~2 ms), like the JS side. */
static double rate(void(*f)(void),double secs){ for(int i=0;i<3;i++) f(); long block=1;
  for(;;){ double t=cpu(); for(long i=0;i<block;i++) f(); if(cpu()-t>=0.002||block>=1<<20) break; block*=2; }
  long it=0; double t0=cpu(),el;
  do{ for(long i=0;i<block;i++) f(); it+=block*k; el=cpu()-t0; }while(el<secs); return it/el; }
int main(int argc,char**argv){
  n=atoi(argv[1]); k=atoi(argv[2]); double secs=atof(argv[3]); bins=n/2+1;
  if(argc>4 && !fftwf_import_wisdom_from_filename(argv[4])) { fprintf(stderr,"cannot import wisdom %s\\n",argv[4]); return 1; }
  in=fftwf_alloc_real((size_t)k*n); out=fftwf_alloc_complex((size_t)k*bins); tmp=fftwf_alloc_complex(bins);
  many=fftwf_plan_many_dft_r2c(1,&n,k,in,NULL,1,n,out,NULL,1,bins,FFTW_MEASURE);
  one=fftwf_plan_dft_r2c_1d(n,in,tmp,FFTW_MEASURE);
  for(size_t i=0;i<(size_t)k*n;i++) in[i]=(float)((i*7919)%1000)/1000.0f-0.5f;
  double a=rate(run_many,secs), b=rate(run_rows,secs), c=rate(run_1buf,secs);
  printf("%.1f %.1f\\n", a>b?a:b, c); return 0; }
`,
    );
    execFileSync('cc', ['-O2', '-o', join(dir, 'fftw'), src, '-lfftw3f']);
    const memo = new Map(); // one C run per (round, n) serves both columns
    const runC = (n) => {
      const argv = [String(n), String(batchOf(n)), String(SECS), ...(wisdomFile ? [wisdomFile] : [])];
      const [same, one] = execFileSync(join(dir, 'fftw'), argv).toString().trim().split(' ').map(Number);
      memo.set(n, one);
      return same;
    };
    fftwC = runC;
    fftwC1 = (n) => memo.get(n);
  } catch (e) {
    console.error(`fftw-c: skipped (${e.message.split('\n')[0]}) — apt-get install libfftw3-dev gcc`);
  }

  const numpyScript = `
import sys, time, numpy as np
n, secs = int(sys.argv[1]), float(sys.argv[2])
k = max(1, 65536 // n)
x = (np.sin(np.arange(k * n) * 0.37)).astype(np.float32).reshape(k, n)
for _ in range(3): np.fft.rfft(x, axis=-1)
it, t0 = 0, time.process_time()
while True:
    np.fft.rfft(x, axis=-1); it += k
    el = time.process_time() - t0
    if el >= secs: break
print(it / el)
`;
  let numpy = null;
  if (spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0) {
    numpy = (n) => Number(execFileSync('python3', ['-c', numpyScript, String(n), String(SECS)]).toString());
  } else console.error('numpy: skipped — apt-get install python3-numpy');

  function senseflowCandidate(engineName, batched) {
    let engine;
    try {
      engine = sinks.fftEngine({ engine: engineName });
    } catch (e) {
      console.error(`senseflow ${engineName}: skipped (${e.message.split('\n')[0]})`);
      return null;
    }
    const setups = new Map();
    return (n) => {
      let s = setups.get(n);
      if (!s) {
        const plan = engine.plan(n);
        const k = batched ? batchOf(n) : 1;
        const input = engine.alloc(k * n);
        input.set(noise(k * n));
        s = { plan, k, input, output: engine.alloc(k * plan.bins * 2) };
        setups.set(n, s);
      }
      return rate(() => s.plan.forwardBatch(s.input, s.output, s.k), s.k);
    };
  }

  function fftJs() {
    const FFT = requireFromSinks('fft.js');
    const setups = new Map();
    return (n) => {
      let s = setups.get(n);
      if (!s) {
        const f = new FFT(n);
        s = { f, out: f.createComplexArray(), x: Array.from(noise(n)) };
        setups.set(n, s);
      }
      return rate(() => s.f.realTransform(s.out, s.x), 1);
    };
  }

  function kissfft() {
    const { FFTR } = requireFromSinks('kissfft-js');
    const setups = new Map();
    return (n) => {
      let s = setups.get(n);
      if (!s) {
        s = { f: new FFTR(n), x: noise(n) };
        setups.set(n, s);
      }
      return rate(() => s.f.forward(s.x), 1);
    };
  }

  async function pffft() {
    const { default: PFFFT } = await import(requireFromSinks.resolve('@echogarden/pffft-wasm/simd').replace(/^/, 'file://'));
    const m = await PFFFT();
    const setups = new Map();
    return (n) => {
      let s = setups.get(n);
      if (!s) {
        const setup = m._pffft_new_setup(n, 0); // PFFFT_REAL
        const inp = m._pffft_aligned_malloc(n * 4);
        const out = m._pffft_aligned_malloc(n * 4);
        const work = m._pffft_aligned_malloc(n * 4);
        const x = noise(n);
        s = { setup, inp, out, work, x };
        setups.set(n, s);
      }
      // Copy in (as a caller with a JS array must), transform to the ordered (canonical) layout.
      return rate(() => {
        m.HEAPF32.set(s.x, s.inp >> 2);
        m._pffft_transform_ordered(s.setup, s.inp, s.out, s.work, 0); // PFFFT_FORWARD
      }, 1);
    };
  }

  const candidates = [
    ['fftw-c', fftwC],
    ['numpy', numpy],
    ['senseflow', senseflowCandidate('fftw', true)],
    ['senseflow-1', senseflowCandidate('fftw', false)],
    ['senseflow-js', senseflowCandidate('js', true)],
    ['fft.js', fftJs()],
    ['kissfft-js', kissfft()],
  ];
  try {
    candidates.push(['pffft-wasm', await pffft()]);
  } catch (e) {
    console.error(`pffft-wasm: skipped (${e.message.split('\n')[0]})`);
  }
  const live = candidates.filter(([, fn]) => fn);
  try {
    const e = sinks.fftEngine({ engine: 'fftw' });
    for (const n of SIZES) e.plan(n);
    const w = e.exportWisdom();
    if (w) writeFileSync((wisdomFile = join(dir, 'wisdom')), w);
  } catch (e) {
    console.error(`fftw wisdom: not shared with fftw-c (${e.message.split('\n')[0]})`);
  }

  // ---- throughput ------------------------------------------------------------------------------

  samples = {}; // samples[name][n] = per-round rates
  ratios = {}; // ratios[name][n] = per-round rate / fftw-c's rate in the same round
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of SIZES) {
      const round = {};
      // Rotate the order every round so no candidate always runs right after a noisy neighbour.
      for (let i = 0; i < live.length; i++) {
        const [name, fn] = live[(i + r) % live.length];
        round[name] = fn(n);
      }
      if (fftwC1) round['fftw-c-1buf'] = fftwC1(n);
      for (const [name, v] of Object.entries(round)) {
        ((samples[name] ??= {})[n] ??= []).push(v);
        if (round['fftw-c']) ((ratios[name] ??= {})[n] ??= []).push(v / round['fftw-c']);
      }
    }
  }

  const fmt = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
  const names = [...live.map(([name]) => name)];
  if (fftwC1) names.splice(1, 0, 'fftw-c-1buf');
  console.log(`\nReal single-precision forward FFTs per CPU-second, median of ${ROUNDS} interleaved rounds of ${SECS} s;`);
  console.log(`(×) = median of the per-round ratios to fftw-c (FFTW from C, same work: ${SIZES.map((n) => `${batchOf(n)} rows at N=${n}`).join(', ')})`);
  console.log(`${'candidate'.padEnd(14)}${SIZES.map((n) => `N=${n}`.padStart(20)).join('')}`);
  for (const name of names) {
    const cells = SIZES.map((n) => {
      const v = median(samples[name][n]);
      const ratio = ratios[name] ? ` (${median(ratios[name][n]).toFixed(2)}×)` : '';
      return `${fmt(v)}${ratio}`.padStart(20);
    });
    console.log(`${name.padEnd(14)}${cells.join('')}`);
  }
  const engine = sinks.fftEngine();
  console.log(`senseflow engine: ${engine.name} (${engine.description}); JS fallback: ${sinks.fftEngine({ engine: 'js' }).description}`);
  const goal = {};
  if (ratios.senseflow) {
    for (const n of SIZES) goal[n] = median(ratios.senseflow[n]);
    const worst = Math.min(...Object.values(goal));
    console.log(`goal ≥ 0.8× FFTW-from-C (same work) at every N: ${SIZES.map((n) => `${goal[n].toFixed(2)}× at ${n}`).join(', ')} — ${worst >= 0.8 ? 'met' : 'NOT met'}`);
  }
  console.log(`load average after the throughput rounds: ${load()}`);
}
if (only === null || only === 'fft') await throughputPart();

// ---- live spectrogram CPU --------------------------------------------------------------------

/** CPU time (ns, from the scheduler: /proc/self/task/<tid>/schedstat) of each of this process's threads. */
function threadCpuNs() {
  const out = new Map();
  let tids = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out; // not Linux: per-thread figures are left out
  }
  for (const tid of tids) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
const tidsNow = () => new Set(threadCpuNs().keys());

async function liveCpu() {
  let openTone;
  try {
    ({ openTone } = await import('@senseflow/source-audio'));
  } catch (e) {
    console.error(`live CPU: skipped (${e.message.split('\n')[0]})`);
    return null;
  }
  const secs = quick ? 4 : 10;
  const measure = async (spectrumOptions) => {
    // Threads by role: the ones that appear when the source opens are its worker's, the ones that appear
    // when the spectrum starts are the spectrum pool's (the pool is closed after each run so its thread is
    // new each time); the main thread is tid = pid; the rest are Node's own (V8 platform, libuv).
    const before = tidsNow();
    const src = await openTone({ rate: 48000, channels: 2, frequency: 1000 });
    const withSource = tidsNow();
    let stream = null;
    let frames = 0;
    if (spectrumOptions) {
      stream = sinks.spectrum(src, { size: 4096, ...spectrumOptions }); // hop: size / 2 (50 % overlap)
      await stream.ready;
      stream.frames$.subscribe(() => frames++);
    }
    const role = (tid) => (tid === String(process.pid) ? 'main' : !withSource.has(tid) ? 'spectrum' : !before.has(tid) ? 'source' : 'other');
    await new Promise((r) => setTimeout(r, 2000)); // settle (JIT, caches)
    const c0 = process.cpuUsage();
    const th0 = threadCpuNs();
    const f0 = frames;
    const s0 = stream?.stats();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, secs * 1000));
    const cpu = process.cpuUsage(c0);
    const th1 = threadCpuNs();
    const wall = (performance.now() - t0) / 1000;
    const s1 = stream?.stats();
    const got = frames - f0;
    await stream?.close();
    await src.close();
    if (stream) await sinks.closeSpectrumPool();
    const threads = { main: 0, source: 0, spectrum: 0, other: 0 };
    for (const [tid, ns] of th1) if (th0.has(tid)) threads[role(tid)] += (100 * (ns - th0.get(tid))) / 1e9 / wall;
    return { pct: (100 * (cpu.user + cpu.system)) / 1e6 / wall, threads, wall, frames: got, wakesPerSec: s1 ? (s1.wakes - s0.wakes) / wall : 0, engine: s1?.engine };
  };
  // Rounds alternate the configurations; each round's spectrum cost is its CPU minus the source alone's in
  // the same round, and the median over rounds is reported.
  const configs = [
    ['source alone', null],
    [`spectrum, default (coalesceMs ${sinks.DEFAULT_COALESCE_MS})`, {}],
    ['spectrum, coalesceMs: 0 (per hop)', { coalesceMs: 0 }],
  ];
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : quick ? 5 : 7;
  const runs = new Map(configs.map(([name]) => [name, []]));
  const diffs = new Map(configs.map(([name]) => [name, []]));
  // Per thread: the spectrum's own thread, plus what it adds to the main thread and Node's other threads
  // (the source's thread is left out: it does the same work either way, and its ±0.5 % swings between
  // runs are what makes the process difference noisy).
  const threadDiffs = new Map(configs.map(([name]) => [name, []]));
  for (let i = 0; i < rounds; i++) {
    const round = {};
    for (let j = 0; j < configs.length; j++) {
      const [name, opts] = configs[(i + j) % configs.length];
      round[name] = await measure(opts);
      runs.get(name).push(round[name]);
    }
    const base = round['source alone'].threads;
    for (const [name] of configs) {
      diffs.get(name).push(round[name].pct - round['source alone'].pct);
      const t = round[name].threads;
      threadDiffs.get(name).push({ main: t.main - base.main, spectrum: t.spectrum, other: t.other - base.other });
    }
  }
  console.log(`\nLive spectrogram: tone source 48 kHz stereo s16, N = 4096, hop 2048 (${(48000 / 2048).toFixed(1)} frames/s × 2 channels), frames$ subscribed on the main thread.`);
  console.log(`Process CPU (% of one core), ${rounds} alternating rounds of ${secs} s; the spectrum's cost = its CPU minus the source alone's in the same round, median (goal ≤ 1 %):`);
  const out = {};
  for (const [name] of configs) {
    const rs = runs.get(name);
    const m = rs[rs.length >> 1];
    const pct = median(rs.map((x) => x.pct));
    const cost = median(diffs.get(name));
    const th = (k) => median(rs.map((x) => x.threads[k])).toFixed(2);
    const extra = name === 'source alone' ? '' : ` → spectrum ${cost.toFixed(2)}% (rounds: ${diffs.get(name).map((d) => d.toFixed(2)).join(', ')}); ${m.frames} frames in ${m.wall.toFixed(1)} s, ${m.wakesPerSec.toFixed(0)} worker wake-ups/s, engine ${m.engine}`;
    console.log(`  ${name.padEnd(38)} ${pct.toFixed(2)}%${extra}`);
    console.log(`  ${''.padEnd(38)} per thread: main ${th('main')}%, source worker ${th('source')}%, spectrum worker ${th('spectrum')}%, Node's other threads ${th('other')}%`);
    out[name] = { pct, spectrumPct: cost, rounds: diffs.get(name), threads: rs.map((x) => x.threads), frames: m.frames, wakesPerSec: m.wakesPerSec };
    if (name !== 'source alone') {
      const td = threadDiffs.get(name);
      const sum = td.map((d) => d.main + d.spectrum + d.other);
      const md = (k) => median(td.map((d) => d[k])).toFixed(2);
      console.log(`  ${''.padEnd(38)} spectrum's cost by thread (source's thread left out): ${median(sum).toFixed(2)}% = main +${md('main')}%, spectrum worker ${md('spectrum')}%, other +${md('other')}% (rounds: ${sum.map((d) => d.toFixed(2)).join(', ')})`);
      out[name].byThread = { total: median(sum), rounds: sum, main: median(td.map((d) => d.main)), spectrum: median(td.map((d) => d.spectrum)), other: median(td.map((d) => d.other)) };
    }
  }
  return out;
}

/**
 * The live spectrogram in steady state, apart from its start-up. The rounds above measure a spectrum started
 * 2 s before its window, so each includes a new pool thread's start-up: V8 compiling the worker's code on
 * its compiler threads and V8's memory reducer running full GCs ~8 s after an isolate starts. A spectrogram
 * runs for minutes, so its cost per second is measured here after `--settle` seconds (default 20), and the
 * start-up separately (CPU of the first `--settle` seconds above the steady rate). One source stays open;
 * each round measures the spectrum started and settled, then the source alone again; the source alone is the
 * mean of the windows before and after. The spectrum's cost = its
 * worker's CPU + what the main thread and Node's other threads use above the source alone (the source's
 * own thread does the same work either way and is left out, as above).
 */
async function steadyCpu() {
  let openTone;
  try {
    ({ openTone } = await import('@senseflow/source-audio'));
  } catch (e) {
    console.error(`steady live CPU: skipped (${e.message.split('\n')[0]})`);
    return null;
  }
  const settle = args.includes('--settle') ? Number(args[args.indexOf('--settle') + 1]) : quick ? 12 : 20;
  // --coalesce 50,100: each round measures every value in turn, so the settings compare in the same run.
  const values = args.includes('--coalesce') ? args[args.indexOf('--coalesce') + 1].split(',').map(Number) : [sinks.DEFAULT_COALESCE_MS];
  const win = 10;
  const nRounds = quick ? 2 : 4;
  const wait = (s) => new Promise((r) => setTimeout(r, s * 1000));
  const before = tidsNow();
  const src = await openTone({ rate: 48000, channels: 2, frequency: 1000 });
  const withSource = tidsNow();
  const role = (tid) => (tid === String(process.pid) ? 'main' : !withSource.has(tid) ? 'spectrum' : !before.has(tid) ? 'source' : 'other');
  /** % of one core per role over `secs`. */
  const window = async (secs) => {
    const a = threadCpuNs();
    const t0 = performance.now();
    await wait(secs);
    const b = threadCpuNs();
    const wall = (performance.now() - t0) / 1000;
    const r = { main: 0, source: 0, spectrum: 0, other: 0 };
    for (const [tid, ns] of b) if (a.has(tid)) r[role(tid)] += (100 * (ns - a.get(tid))) / 1e9 / wall;
    return r;
  };
  const costOf = (on, alone) => on.spectrum + (on.main - alone.main) + (on.other - alone.other);
  await wait(settle); // the source's own start-up (its worker's JIT and memory-reducer GCs) is not the spectrum's
  const rowsOf = new Map(values.map((v) => [v, []]));
  let aloneBefore = await window(win);
  for (let i = 0; i < nRounds; i++) {
    for (const coalesceMs of values) {
      const stream = sinks.spectrum(src, { size: 4096, coalesceMs });
      await stream.ready;
      let frames = 0;
      stream.frames$.subscribe(() => frames++);
      const first = await window(settle);
      const s0 = stream.stats();
      const f0 = frames;
      const on = await window(win);
      const s1 = stream.stats();
      await stream.close();
      await sinks.closeSpectrumPool(); // the next round starts a new pool thread: its start-up is measured again
      await wait(5);
      // The source alone before and after, averaged: a drift of its cost over the round cancels out.
      const aloneAfter = await window(win);
      const alone = Object.fromEntries(Object.keys(on).map((k) => [k, (aloneBefore[k] + aloneAfter[k]) / 2]));
      aloneBefore = aloneAfter;
      const steady = costOf(on, alone);
      rowsOf.get(coalesceMs).push({
        alone,
        on,
        steady,
        startupMs: ((costOf(first, alone) - steady) / 100) * settle * 1000,
        wakesPerSec: (s1.wakes - s0.wakes) / win,
        framesPerSec: (frames - f0) / win,
      });
    }
  }
  await src.close();
  const floor = await wakeFloor((1000 * 2 * 2048) / 48000);
  const results = [];
  for (const [coalesceMs, rows] of rowsOf) {
    const md = (f) => median(rows.map(f));
    console.log(`\nLive spectrogram in steady state (coalesceMs ${coalesceMs}${coalesceMs === sinks.DEFAULT_COALESCE_MS ? ', the default' : ''}), after ${settle} s; ${nRounds} rounds of ${win} s with the source alone, then with the spectrum${values.length > 1 ? ` (alternating with coalesceMs ${values.filter((v) => v !== coalesceMs).join(', ')})` : ''}:`);
    console.log(`  spectrum's cost ${md((r) => r.steady).toFixed(2)} % of a core (rounds: ${rows.map((r) => r.steady.toFixed(2)).join(', ')}; goal ≤ 1 %) = spectrum worker ${md((r) => r.on.spectrum).toFixed(2)} %, main +${md((r) => r.on.main - r.alone.main).toFixed(2)} %, Node's other threads +${md((r) => r.on.other - r.alone.other).toFixed(2)} %`);
    console.log(`  ${md((r) => r.wakesPerSec).toFixed(1)} worker wake-ups/s, ${md((r) => r.framesPerSec).toFixed(1)} frames/s delivered; source worker alone ${md((r) => r.alone.source).toFixed(2)} %, with the spectrum ${md((r) => r.on.source).toFixed(2)} %`);
    console.log(`  start-up (a new spectrum and pool thread: JIT, V8's memory reducer): ${md((r) => r.startupMs).toFixed(0)} ms of CPU over its first ${settle} s above the steady rate (rounds: ${rows.map((r) => r.startupMs.toFixed(0)).join(', ')})`);
    results.push({ coalesceMs, spectrumPct: md((r) => r.steady), startupCpuMs: md((r) => r.startupMs), rounds: rows });
  }
  console.log(`  context: an idle worker thread waking every ${floor.periodMs.toFixed(0)} ms and doing nothing costs ${floor.waitAsyncUs.toFixed(0)} µs of CPU per wake-up with Atomics.waitAsync, ${floor.waitUs.toFixed(0)} µs with Atomics.wait; the FFT pass of one stereo hop (ringJob.run) takes ${floor.hotUs.toFixed(1)} µs back to back and ${floor.coldUs.toFixed(1)} µs (median) once every 40 ms`);
  return { settleSeconds: settle, windowSeconds: win, wakeFloor: floor, byCoalesceMs: results };
}

/**
 * What a spectrum wake-up costs at the least on this machine: a worker thread that sleeps `periodMs` and does
 * nothing (CPU per wake-up from its schedstat), and the native FFT pass of one stereo hop, back to back
 * (warm caches) and once every 40 ms (as a live spectrum runs it).
 */
async function wakeFloor(periodMs) {
  const { Worker } = await import('node:worker_threads');
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    const cpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    const i32 = new Int32Array(new SharedArrayBuffer(4));
    const keep = setInterval(() => {}, 1e9); // a pending waitAsync does not keep a worker alive
    (async () => {
      const n = 40;
      const c0 = cpu();
      for (let i = 0; i < n; i++) {
        if (workerData.sync) Atomics.wait(i32, 0, 0, workerData.ms);
        else await Atomics.waitAsync(i32, 0, 0, workerData.ms).value;
      }
      parentPort.postMessage((cpu() - c0) / n / 1000);
      clearInterval(keep);
    })();`;
  const perWake = async (sync) => {
    const w = new Worker(code, { eval: true, workerData: { ms: periodMs, sync } });
    const us = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    return us;
  };
  const waitAsyncUs = median([await perWake(false), await perWake(false)]);
  const waitUs = median([await perWake(true), await perWake(true)]);
  const cap = 48000 * 2;
  const samples = new Int16Array(new SharedArrayBuffer(cap * 2 * 2));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(10000 * Math.sin(i * 0.01));
  const job = sinks.fftEngine({}).plan(4096).ringJob({ samples, capacityFrames: cap, channels: 2, chans: Int32Array.from([0, 1]), hop: 2048 }, { window: new Float32Array(4096).fill(1), kind: 'db', gain: 1e-4, edgeGain: 5e-5, floorDb: -120 });
  const out = new Float32Array(2 * 2049);
  const hot = 2000;
  for (let i = 0; i < hot; i++) job.run((i * 2048) % cap, 1, out);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < hot; i++) job.run((i * 2048) % cap, 1, out);
  const hotUs = Number(process.hrtime.bigint() - t0) / hot / 1000;
  const cold = [];
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 40));
    t0 = process.hrtime.bigint();
    job.run((i * 2048) % cap, 1, out);
    cold.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return { periodMs, waitAsyncUs, waitUs, hotUs, coldUs: median(cold) };
}

const cpu = only === 'fft' || only === 'steady' ? null : await liveCpu();
const steady = only === 'fft' ? null : await steadyCpu();
await sinks.closeSpectrumPool();
console.log(`load average after: ${load()}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), loadBefore: load0, loadAfter: load(), sizes: SIZES, transformsPerCpuSecond: samples, ratioToFftwC: ratios, liveCpu: cpu, steadyLiveCpu: steady }, null, 2));
