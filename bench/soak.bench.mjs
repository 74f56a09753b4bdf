#!/usr/bin/env node
// Memory soak: is senseflow's memory flat over time?
//   record:  record a 640x480 30 fps test pattern + 48 kHz stereo tone + 100 Hz sysstats to files for N
//            minutes; print RSS (and V8 heap of this thread) per minute, and the RSS slope after the warm-up
//            (least squares over the per-10 s samples).
//   cycles:  open/close a test pattern with a frames$ subscriber K times; print the RSS growth (after GC).
// Baselines in the same run: the RSS at the start of each phase (printed), and the load average before/after.
// Usage: node --expose-gc bench/soak.bench.mjs [--minutes 10] [--warmup 2] [--cycles 1000] [--only record|cycles] [--json]
// Build first: pnpm --filter "@senseflow/sinks..." --filter "@senseflow/source-sysstats..." build
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, take } from 'rxjs';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';
import { openSysStats } from '@senseflow/source-sysstats';
import { openFileSink } from '@senseflow/sinks';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const MINUTES = Number(arg('minutes', 10));
const WARMUP = Number(arg('warmup', 2));
const CYCLES = Number(arg('cycles', 1000));
const ONLY = arg('only', 'all');
const JSON_OUT = process.argv.includes('--json');
const say = (...a) => !JSON_OUT && console.log(...a);
const MB = 1024 * 1024;
const gc = () => globalThis.gc?.();
const rssMb = () => process.memoryUsage().rss / MB;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

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

async function record() {
  const dir = mkdtempSync(join(tmpdir(), 'sf-soak-'));
  const cam = await openTestPattern({ width: 640, height: 480, fps: 30, pixelFormat: 'yuyv' }, { autoStart: false });
  const mic = await openTone({ rate: 48000, channels: 2 }, { autoStart: false });
  const stats = await openSysStats({ hz: 100 }, { autoStart: false });
  const sinks = [
    await openFileSink(cam, { dir, name: 'video', video: { preset: 'ultrafast' } }),
    await openFileSink(mic, { dir, name: 'audio' }),
    await openFileSink(stats, { dir, name: 'stats' }),
  ];
  for (const s of [cam, mic, stats]) await s.start();
  const t0 = performance.now();
  const samples = []; // [minutes, rssMb]
  const perMinute = [];
  say(`record: 640x480 30 fps + 48 kHz stereo + 100 Hz stats for ${MINUTES} min (warm-up ${WARMUP} min), start RSS ${rssMb().toFixed(1)} MB`);
  for (let k = 1; k <= MINUTES * 6; k++) {
    await sleep(t0 + k * 10_000 - performance.now());
    gc();
    const m = (performance.now() - t0) / 60_000;
    const rss = rssMb();
    samples.push([m, rss]);
    if (k % 6 === 0) {
      const heap = process.memoryUsage().heapUsed / MB;
      perMinute.push({ minute: Math.round(m), rssMb: +rss.toFixed(1), heapMb: +heap.toFixed(1) });
      say(`  minute ${String(Math.round(m)).padStart(2)}: RSS ${rss.toFixed(1)} MB, heap ${heap.toFixed(1)} MB`);
    }
  }
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
    items: summaries.map((s) => s.items),
    drops: summaries.map((s) => s.drops),
  };
  say(`  RSS slope after warm-up: ${result.slopeMbPerMin} MB/min (goal ≤ 0.5); items stored ${result.items.join(' / ')}`);
  return result;
}

async function cycles() {
  // Warm up (JIT, worker code cache, thread pool), then measure.
  const once = async () => {
    const cam = await openTestPattern({ width: 320, height: 240, fps: 60 });
    await firstValueFrom(cam.frames$.pipe(take(2)));
    const sub = cam.frames$.subscribe(() => {});
    await cam.close();
    sub.unsubscribe();
  };
  for (let i = 0; i < 20; i++) await once();
  gc();
  await sleep(200);
  gc();
  const start = rssMb();
  say(`cycles: ${CYCLES} × (open test pattern, frames$ subscriber, close), start RSS ${start.toFixed(1)} MB`);
  const marks = [];
  for (let i = 1; i <= CYCLES; i++) {
    await once();
    if (i % Math.max(1, Math.floor(CYCLES / 5)) === 0) {
      gc();
      marks.push({ cycle: i, rssMb: +rssMb().toFixed(1) });
      say(`  after ${i}: RSS ${rssMb().toFixed(1)} MB`);
    }
  }
  gc();
  await sleep(500);
  gc();
  const growth = rssMb() - start;
  say(`  RSS growth over ${CYCLES} cycles: ${growth.toFixed(1)} MB (goal ≤ 30)`);
  return { cycles: CYCLES, startMb: +start.toFixed(1), growthMb: +growth.toFixed(1), marks };
}

const out = { date: new Date().toISOString(), node: process.version, loadBefore: load(), gc: typeof globalThis.gc === 'function' };
if (!out.gc) say('(run with node --expose-gc for RSS after GC)');
say(`soak bench ${out.date}, node ${out.node}, load average ${out.loadBefore}`);
if (ONLY === 'all' || ONLY === 'cycles') out.cycles = await cycles();
if (ONLY === 'all' || ONLY === 'record') out.record = await record();
out.loadAfter = load();
say(`load average after: ${out.loadAfter}`);
if (JSON_OUT) console.log(JSON.stringify(out));
process.exit(0);
