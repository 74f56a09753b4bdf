#!/usr/bin/env node
// Supervision: how long a hung plugin takes to be found and restarted, with the default host options
// (restartDelayMs 200). The plugin (core's `faulty` test fixture) writes records at 100 Hz, so the watchdog
// window is max(1 s, 5 periods) = 1 s, and spins forever after its 30th item. Measured on the main thread:
// last item before the hang → `crashed` (detection) → `restarted` (the new worker open and started).
// Same-run baseline: a bare worker that imports the plugin module (and so @senseflow/core), i.e. the spawn
// cost a restart pays if it spawns only after the old worker is gone and the backoff has passed.
// Usage: node bench/restart.bench.mjs [--rounds 7] [--json]
// Build first: pnpm --filter @senseflow/core build
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { loadAverage as load } from './load.mjs';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { openSource } from '@senseflow/core';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', 7));
const JSON_OUT = process.argv.includes('--json');
const FIXTURE = new URL('../packages/core/test/fixtures/faulty.mjs', import.meta.url);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const range = (a) => `${Math.round(Math.min(...a))}–${Math.round(Math.max(...a))}`;

async function hungRound() {
  const src = await openSource(FIXTURE, { hz: 100, hangAfter: 30 });
  const at = {};
  let hangAt = 0;
  src.events$.subscribe((e) => (at[e.type] ??= performance.now()));
  src.frames$.subscribe((r) => {
    if (r.seq === 29n) hangAt = performance.now();
  });
  await firstValueFrom(src.events$.pipe(filter((e) => e.type === 'restarted'), timeout(30_000)));
  await src.close();
  return { detected: at.crashed - hangAt, restart: at.restarted - at.crashed, total: at.restarted - hangAt };
}

async function bareSpawn() {
  const t0 = performance.now();
  const w = new Worker(`import(${JSON.stringify(FIXTURE.href)}).then(() => require('node:worker_threads').parentPort.postMessage(0));`, { eval: true });
  await new Promise((r, j) => (w.once('message', r), w.once('error', j)));
  const ms = performance.now() - t0;
  await w.terminate();
  return ms;
}

const before = load();
const rows = [];
const bare = [];
for (let i = 0; i < ROUNDS; i++) {
  rows.push(await hungRound());
  bare.push(await bareSpawn());
}
const out = {
  date: new Date().toISOString(),
  cores: availableParallelism(),
  loadBefore: before,
  loadAfter: load(),
  rounds: ROUNDS,
  hungToRestartedMs: { median: Math.round(median(rows.map((r) => r.total))), range: range(rows.map((r) => r.total)) },
  detectedMs: { median: Math.round(median(rows.map((r) => r.detected))), range: range(rows.map((r) => r.detected)) },
  crashedToRestartedMs: { median: Math.round(median(rows.map((r) => r.restart))), range: range(rows.map((r) => r.restart)) },
  baselineSpawnAndImportMs: { median: Math.round(median(bare)), range: range(bare) },
};
if (JSON_OUT) console.log(JSON.stringify(out));
else {
  console.log(`hung plugin at 100 Hz (watchdog 1 s, restartDelayMs 200), ${ROUNDS} rounds, ${out.date}, ${out.cores} cores, load ${before} → ${out.loadAfter}`);
  console.log(`  hung → restarted     median ${out.hungToRestartedMs.median} ms (${out.hungToRestartedMs.range})`);
  console.log(`  hung → detected      median ${out.detectedMs.median} ms (${out.detectedMs.range})`);
  console.log(`  detected → restarted median ${out.crashedToRestartedMs.median} ms (${out.crashedToRestartedMs.range})`);
  console.log(`  baseline: a bare worker importing the plugin: median ${out.baselineSpawnAndImportMs.median} ms (${out.baselineSpawnAndImportMs.range})`);
  console.log(`  (a restart that spawned only after the old worker's exit and the backoff would add that to 200 ms)`);
}
