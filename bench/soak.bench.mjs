#!/usr/bin/env node
// Memory soak: is senseflow's memory flat over time?
//   record:  record a 640x480 30 fps test pattern + 48 kHz stereo tone + 100 Hz sysstats to files for N
//            minutes; print RSS (and the live V8 heap of all threads) per minute, and the RSS slope after the
//            warm-up (least squares over the per-10 s samples). Runs in a child node with --expose-gc,
//            --max-semi-space-size=1 and bench/thread-memory.cjs preloaded, so that every sample is taken
//            after a full GC in EVERY thread (the 6 workers too) with V8's young generation capped: measured
//            2026-12-03, what grew over the first minutes was the workers' V8 heaps — garbage awaiting their
//            first mark-compact and a worker's new space growing 1 → 8 → 16 MB — not live memory, not the
//            rings (resident within 10 s) nor malloc arenas (docs/performance.md). The slope then measures
//            retained memory: what a leak is.
//   cycles:  open/close a test pattern with a frames$ subscriber K times; print the RSS growth (after GC),
//            and the same for a bare `new Worker` that allocates a same-size SharedArrayBuffer and is
//            terminated (the same-run baseline: what Node/V8 alone keep per worker).
// Baselines in the same run: the RSS at the start of each phase (printed), and the load average before/after.
// Usage: node bench/soak.bench.mjs [--minutes 12] [--warmup 2] [--cycles 1000] [--only record|cycles] [--quick] [--json]
//          [--leak-bytes N]  (test-only: retain an N-byte buffer per video frame — the CI guard's proof it can fail)
//   (--quick: 1 minute, 0.5 warm-up, 50 cycles — a smoke run, not a measurement)
// Build first: pnpm --filter "@senseflow/sinks..." --filter "@senseflow/source-sysstats..." build
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadAverage as load } from './load.mjs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BroadcastChannel, Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, take } from 'rxjs';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';
import { openSysStats } from '@senseflow/source-sysstats';
import { openFileSink } from '@senseflow/sinks';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const QUICK = process.argv.includes('--quick');
const MINUTES = Number(arg('minutes', QUICK ? 1 : 12));
const WARMUP = Number(arg('warmup', QUICK ? 0.5 : 2));
const CYCLES = Number(arg('cycles', QUICK ? 50 : 1000));
const ONLY = arg('only', 'all');
const JSON_OUT = process.argv.includes('--json');
const LEAK_BYTES = Number(arg('leak-bytes', 0));
// The record phase runs in a child with the flags above (see the header); this marks that child.
const RECORD_CHILD = process.env.SENSEFLOW_SOAK_RECORD_CHILD === '1';
// The record child reports progress on stderr (its stdout is the JSON result for the parent).
const say = (...a) =>
  process.env.SENSEFLOW_SOAK_RECORD_CHILD === '1' ? process.env.SENSEFLOW_SOAK_VERBOSE === '1' && console.error(...a) : !JSON_OUT && console.log(...a);
const MB = 1024 * 1024;
// RSS "after GC" needs gc(): take it even without --expose-gc (bench/run.mjs does not pass flags to node).
if (typeof globalThis.gc !== 'function') {
  setFlagsFromString('--expose-gc');
  globalThis.gc = runInNewContext('gc');
}
const gc = () => globalThis.gc();
const rssMb = () => process.memoryUsage().rss / MB;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

/** Full GC in every thread; resolves with the live V8 heap of all threads (MB) and how many workers replied. */
async function gcAllThreads(channel, workers) {
  const replies = [];
  channel.onmessage = ({ data }) => replies.push(data);
  channel.postMessage('gc');
  const until = performance.now() + 2000; // a worker busy in a long synchronous wait answers late: wait, bounded
  while (replies.length < workers && performance.now() < until) await sleep(20);
  gc();
  const live = replies.reduce((s, r) => s + r.usedBytes, process.memoryUsage().heapUsed) / MB;
  return { liveHeapMb: live, replied: replies.length };
}

/** Runs the record phase in a child node with the flags it needs (see the header); returns its result. */
function recordInChild() {
  const preload = fileURLToPath(new URL('./thread-memory.cjs', import.meta.url));
  const args = ['--expose-gc', '--max-semi-space-size=1', '-r', preload, fileURLToPath(import.meta.url), ...process.argv.slice(2).filter((a, i, all) => a !== '--only' && all[i - 1] !== '--only'), '--only', 'record', '--json'];
  const r = spawnSync(process.execPath, args, { env: { ...process.env, SENSEFLOW_SOAK_RECORD_CHILD: '1', SENSEFLOW_SOAK_VERBOSE: JSON_OUT ? '0' : '1' }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`record child failed: ${r.error?.message ?? `exit ${r.status}`}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).record;
}

async function record() {
  const channel = new BroadcastChannel('senseflow:thread-memory');
  channel.unref();
  const dir = mkdtempSync(join(tmpdir(), 'sf-soak-'));
  const cam = await openTestPattern({ width: 640, height: 480, fps: 30, pixelFormat: 'yuyv' }, { autoStart: false });
  const mic = await openTone({ rate: 48000, channels: 2 }, { autoStart: false });
  const stats = await openSysStats({ hz: 100 }, { autoStart: false });
  const sinks = [
    await openFileSink(cam, { dir, name: 'video', video: { preset: 'ultrafast' } }),
    await openFileSink(mic, { dir, name: 'audio' }),
    await openFileSink(stats, { dir, name: 'stats' }),
  ];
  // Test-only deliberate leak: a filled (so resident) buffer kept per video frame, outside the JS heap.
  const leaked = [];
  const leakSub = LEAK_BYTES > 0 ? cam.frames$.subscribe(() => leaked.push(Buffer.alloc(LEAK_BYTES, 1))) : null;
  for (const s of [cam, mic, stats]) await s.start();
  const t0 = performance.now();
  const samples = []; // [minutes, rssMb]
  const perMinute = [];
  const WORKERS = 6; // 3 sources + 3 file sinks
  say(`record: 640x480 30 fps + 48 kHz stereo + 100 Hz stats for ${MINUTES} min (warm-up ${WARMUP} min)${LEAK_BYTES ? `, leaking ${LEAK_BYTES} B per video frame` : ''}, start RSS ${rssMb().toFixed(1)} MB`);
  let minReplied = WORKERS;
  for (let k = 1; k <= MINUTES * 6; k++) {
    await sleep(t0 + k * 10_000 - performance.now());
    const { liveHeapMb, replied } = await gcAllThreads(channel, WORKERS);
    minReplied = Math.min(minReplied, replied);
    const m = (performance.now() - t0) / 60_000;
    const rss = rssMb();
    samples.push([m, rss]);
    if (k % 6 === 0) {
      perMinute.push({ minute: Math.round(m), rssMb: +rss.toFixed(1), liveHeapMb: +liveHeapMb.toFixed(1) });
      say(`  minute ${String(Math.round(m)).padStart(2)}: RSS ${rss.toFixed(1)} MB, live V8 heap of all threads ${liveHeapMb.toFixed(1)} MB (${replied}/${WORKERS} workers)`);
    }
  }
  leakSub?.unsubscribe();
  for (const s of [cam, mic, stats]) await s.stop();
  const summaries = [];
  for (const s of sinks) summaries.push(await s.stop());
  for (const s of [cam, mic, stats]) await s.close();
  rmSync(dir, { recursive: true, force: true });
  const after = samples.filter(([m]) => m >= WARMUP);
  const result = {
    minutes: MINUTES,
    warmupMinutes: WARMUP,
    slopeMbPerMin: +slope(after).toFixed(3),
    perMinute,
    samples: samples.map(([m, mb]) => [+m.toFixed(2), +mb.toFixed(1)]),
    workersGcMin: minReplied,
    leakBytesPerFrame: LEAK_BYTES,
    leakedMb: +((leaked.length * LEAK_BYTES) / MB).toFixed(1),
    items: summaries.map((s) => s.items),
    drops: summaries.map((s) => s.drops),
  };
  say(`  RSS slope after warm-up: ${result.slopeMbPerMin} MB/min (goal ≤ 0.5); items stored ${result.items.join(' / ')}`);
  return result;
}

/** Resident MB of the process's brk heap (glibc's main malloc arena), from /proc/self/smaps. */
function brkHeapMb() {
  const smaps = readFileSync('/proc/self/smaps', 'utf8');
  const m = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/.exec(smaps);
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * K open/close cycles of `once`, after 20 warm-up ones; RSS (after GC) every K/10 cycles and the growth.
 * Terminated workers' isolates are torn down asynchronously, hence the pauses before reading RSS.
 */
async function cycleRun(label, once) {
  for (let i = 0; i < 20; i++) await once();
  gc();
  await sleep(200);
  gc();
  const start = rssMb();
  const startHeap = process.memoryUsage().heapUsed / MB;
  const t0 = performance.now();
  say(`${label}: ${CYCLES} cycles, start RSS ${start.toFixed(1)} MB, load ${load()}`);
  const marks = [];
  for (let i = 1; i <= CYCLES; i++) {
    await once();
    if (i % Math.max(1, Math.floor(CYCLES / 10)) === 0) {
      gc();
      await sleep(100);
      gc();
      const heap = process.memoryUsage().heapUsed / MB;
      marks.push({ cycle: i, rssMb: +rssMb().toFixed(1), heapMb: +heap.toFixed(1) });
      say(`  after ${i}: RSS ${rssMb().toFixed(1)} MB, heap ${heap.toFixed(1)} MB, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  gc();
  await sleep(500);
  gc();
  const growth = rssMb() - start;
  const heapMb = process.memoryUsage().heapUsed / MB;
  const seconds = (performance.now() - t0) / 1000;
  const brk = brkHeapMb();
  say(`  ${label}: RSS growth over ${CYCLES} cycles ${growth.toFixed(1)} MB in ${seconds.toFixed(0)} s; heap of this thread ${startHeap.toFixed(1)} → ${heapMb.toFixed(1)} MB; glibc's main heap ([heap]) resident ${brk.toFixed(1)} MB; load ${load()}`);
  return { cycles: CYCLES, seconds: Math.round(seconds), startMb: +start.toFixed(1), growthMb: +growth.toFixed(1), startHeapMb: +startHeap.toFixed(1), endHeapMb: +heapMb.toFixed(1), brkHeapMb: +brk.toFixed(1), marks };
}

async function cycles() {
  // senseflow: open a test pattern (worker + ring), take 2 frames, subscribe frames$, close.
  const source = await cycleRun('cycles: test pattern 320x240 with a frames$ subscriber', async () => {
    const cam = await openTestPattern({ width: 320, height: 240, fps: 60 });
    await firstValueFrom(cam.frames$.pipe(take(2)));
    const sub = cam.frames$.subscribe(() => {});
    await cam.close();
    sub.unsubscribe();
  });
  // Same-run baseline: a bare worker that allocates and fills a SharedArrayBuffer of the same ring size,
  // hands it over and is terminated — what Node/V8 alone keep per worker.
  const ringBytes = 4 * (320 * 240 * 2) + 4096;
  const code = `const { parentPort } = require('node:worker_threads'); const sab = new SharedArrayBuffer(${ringBytes}); new Uint8Array(sab).fill(1); parentPort.postMessage(sab);`;
  const bare = await cycleRun('baseline: bare Worker + SharedArrayBuffer', async () => {
    const w = new Worker(code, { eval: true });
    await new Promise((resolve) => w.once('message', resolve));
    await w.terminate();
  });
  say(`  goal: senseflow growth ≤ 30 MB over 1,000 cycles`);
  return { ...source, baseline: bare };
}

const out = { date: new Date().toISOString(), node: process.version, loadBefore: load(), gc: typeof globalThis.gc === 'function' };
if (!RECORD_CHILD) say(`soak bench ${out.date}, node ${out.node}, load average ${out.loadBefore}`);
if (ONLY === 'all' || ONLY === 'cycles') out.cycles = await cycles();
if (ONLY === 'all' || ONLY === 'record') out.record = RECORD_CHILD ? await record() : recordInChild();
out.loadAfter = load();
say(`load average after: ${out.loadAfter}`);
if (JSON_OUT) console.log(JSON.stringify(out));
process.exit(0);
