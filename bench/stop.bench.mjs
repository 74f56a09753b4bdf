#!/usr/bin/env node
// Stop latency of `senseflow record` under load: the test pattern at 30, 240 and 1000 fps (raw frames
// encoded by ffmpeg), stopped by SIGTERM after a few seconds, and by --duration. Measured per run, in one
// process, beside the same-run baseline: an audio-only recording (the fixed cost of stopping: sinks
// finalize, ffmpeg-free). Reported: SIGTERM → process exit, and for --duration the time from the requested
// end to exit. Usage: node bench/stop.bench.mjs [--quick] [--runs N]
// Build first: pnpm --filter @senseflow/cli... build
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadAverage } from './load.mjs';
import { join } from 'node:path';

const QUICK = process.argv.includes('--quick');
const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : QUICK ? 1 : 3;
const BIN = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(args) {
  const child = spawn(process.execPath, [BIN, 'record', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s) => (err += s));
  const exited = new Promise((r) => child.on('exit', (code) => r({ code, at: performance.now() })));
  return { child, exited, err: () => err };
}

/** SIGTERM after `recordS` of recording → exit, in ms. */
async function sigterm(args, recordS) {
  const out = join(mkdtempSync(join(tmpdir(), 'sf-stopbench-')), 's');
  const p = start([...args, '--out', out]);
  for (let t = 0; t < 1200 && !/(video [1-9]\d* frames|audio [1-9][\d.]* s)/.test(p.err()); t++) await sleep(50);
  await sleep(recordS * 1000);
  const t0 = performance.now();
  p.child.kill('SIGTERM');
  const { code, at } = await p.exited;
  if (code !== 0) throw new Error(`senseflow record ${args.join(' ')} exited ${code}:\n${p.err()}`);
  const m = JSON.parse(readFileSync(join(out, 'session.json'), 'utf8'));
  const v = m.streams.find((s) => s.kind === 'video');
  return { ms: at - t0, code, frames: v?.items ?? 0, stopped: v?.drops.stopped ?? 0 };
}

/** --duration D: from the requested end (origin + D, per session.json) to exit, in ms. */
async function duration(args, d) {
  const out = join(mkdtempSync(join(tmpdir(), 'sf-stopbench-')), 's');
  const p = start([...args, '--duration', String(d), '--out', out]);
  const { at } = await p.exited;
  const m = JSON.parse(readFileSync(join(out, 'session.json'), 'utf8'));
  // Wall time of the requested end vs. wall time of exit (both on this machine's clock).
  const endWall = Date.parse(m.clock.wallTime) + d * 1000;
  return { ms: Date.now() - (performance.now() - at) - endWall };
}

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`stop latency of senseflow record — ${new Date().toISOString()}, load average before ${loadAverage()}, ${RUNS} run(s) each, median`);
console.log('case                         SIGTERM→exit   --duration end→exit   frames   drops.stopped');
const cases = [
  ['baseline: audio only', ['--audio', 'test']],
  ['video 640x480 @ 30 fps', ['--video', 'test', '--fps', '30']],
  ['video 640x480 @ 240 fps', ['--video', 'test', '--fps', '240']],
  ['video 640x480 @ 1000 fps', ['--video', 'test', '--fps', '1000']],
];
for (const [name, args] of cases) {
  const s = [];
  const d = [];
  for (let r = 0; r < RUNS; r++) {
    s.push(await sigterm(args, QUICK ? 1.5 : 3));
    d.push(await duration(args, QUICK ? 1 : 2));
  }
  console.log(
    `${name.padEnd(28)} ${`${med(s.map((x) => x.ms)).toFixed(0)} ms`.padStart(12)}   ${`${med(d.map((x) => x.ms)).toFixed(0)} ms`.padStart(19)}   ${String(med(s.map((x) => x.frames))).padStart(6)}   ${String(med(s.map((x) => x.stopped))).padStart(13)}`,
  );
}
console.log(`load average after: ${loadAverage()}`);
