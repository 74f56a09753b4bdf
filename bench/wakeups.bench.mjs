#!/usr/bin/env node
// Wake-up cost: a 1 kHz sysstats source delivered to a main-thread frames$ subscriber (batched wake-ups
// through core's RingConsumer), against an empty 1 kHz loop in the same process and run.
//   empty loop:      the main thread wakes every 1 ms and does nothing (absolute deadlines, core sleepUntil)
//   worker alone:    the sysstats source at 1 kHz in its worker, nobody subscribed
//   + subscriber:    the same source with a frames$ subscriber on the main thread (counts every item)
// Reported: process CPU as % of one core (all threads), each ratio to the empty loop, the subscriber's
// capture → delivery latency (stats$), and items delivered vs written (batched delivery must lose nothing).
// Every case is measured after the same warm-up (--warmup, default 3 s) of that very case, the empty loop
// included: at 1 kHz V8 is still compiling the worker's tick path (on its platform threads, which count)
// half a second in, a one-time start-up cost that is not the per-item cost measured here.
// Usage: node bench/wakeups.bench.mjs [--seconds 5] [--warmup 3] [--quick] [--fields 'cpu*,mem.*'] [--json]
// Build first: pnpm --filter "@senseflow/source-sysstats..." build
import { loadavg } from 'node:os';
import { RingConsumer, monotonicNs, sleepUntil } from '@senseflow/core';
import { openSysStats } from '@senseflow/source-sysstats';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SECONDS = Number(arg('seconds', process.argv.includes('--quick') ? 2 : 5));
const WARMUP_MS = Number(arg('warmup', process.argv.includes('--quick') ? 1 : 3)) * 1000;
const FIELDS = arg('fields', undefined)?.split(',');
const JSON_OUT = process.argv.includes('--json');
const say = (...a) => !JSON_OUT && console.log(...a);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const nowUs = () => performance.now() * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Process CPU (% of one core) while `during` runs for SECONDS. */
async function measure(during) {
  const c0 = cpuUs();
  const w0 = nowUs();
  await during(SECONDS * 1000);
  return ((cpuUs() - c0) / (nowUs() - w0)) * 100;
}

async function emptyLoop(ms) {
  const period = 1_000_000n;
  let deadline = process.hrtime.bigint() + period;
  const end = deadline + BigInt(ms) * 1_000_000n;
  while (deadline < end) {
    await sleepUntil(deadline);
    deadline += period;
    const t = process.hrtime.bigint();
    if (t > deadline + period) deadline += ((t - deadline) / period) * period; // no catch-up bursts
  }
}

const out = { date: new Date().toISOString(), node: process.version, seconds: SECONDS, warmupSeconds: WARMUP_MS / 1000, loadBefore: load() };
say(`wake-up bench ${out.date}, node ${out.node}, ${SECONDS} s per case after a ${WARMUP_MS / 1000} s warm-up of it, load average ${out.loadBefore}`);

const src = await openSysStats({ hz: 1000, fields: FIELDS }, { autoStart: false });
await sleep(300);
out.idlePct = await measure(sleep); // the process with the source open but stopped
await emptyLoop(WARMUP_MS);
out.emptyLoopPct = (await measure(emptyLoop)) - out.idlePct;
await src.start();
await sleep(WARMUP_MS); // past priming and JIT warm-up
out.workerAlonePct = (await measure(sleep)) - out.idlePct;

let delivered = 0;
let lastSeq = -1n;
let outOfOrder = 0;
const sub = src.frames$.subscribe((r) => {
  if (lastSeq >= 0n && r.seq !== lastSeq + 1n) outOfOrder++;
  lastSeq = r.seq;
  delivered++;
});
const lat = [];
const statsSub = src.stats$.subscribe((s) => s.latencyMs && lat.push(s.latencyMs));
await sleep(WARMUP_MS);
const drops0 = src.drops();
const seq0 = lastSeq;
delivered = 0;
out.withSubscriberPct = (await measure(sleep)) - out.idlePct;
const seq1 = lastSeq;
const drops1 = src.drops();
sub.unsubscribe();
statsSub.unsubscribe();

// The consumer alone on this thread (no RxJS, no item objects), per batching window.
out.consumer = [];
for (const maxDelayMs of [0, 1, 2, 4]) {
  const ac = new AbortController();
  const c = new RingConsumer(src.ring, { maxDelayMs, signal: ac.signal });
  let wakes = 0;
  let items = 0;
  const lat = [];
  const run = (async () => {
    while (await c.wait()) {
      wakes++;
      const now = monotonicNs();
      let first = true;
      for (let v = c.take(); v; v = c.take()) {
        if (first) lat.push(Number(now - v.captureNs) / 1e6); // the oldest item of the batch: its worst latency
        first = false;
        items++;
      }
    }
  })();
  await sleep(300);
  wakes = 0;
  items = 0;
  lat.length = 0;
  const pct = (await measure(sleep)) - out.idlePct;
  ac.abort();
  await run;
  lat.sort((a, b) => a - b);
  const row = { maxDelayMs, pct, ratio: pct / out.emptyLoopPct, itemsPerWake: items / wakes, p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)] };
  out.consumer.push(row);
}
await src.close();

out.workerAloneRatio = out.workerAlonePct / out.emptyLoopPct;
out.withSubscriberRatio = out.withSubscriberPct / out.emptyLoopPct;
out.delivered = delivered;
out.written = Number(seq1 - seq0);
out.outOfOrder = outOfOrder;
out.overwritten = drops1.overwritten - drops0.overwritten;
out.latencyMs = lat.length ? { p50: Math.max(...lat.map((l) => l.p50)), p99: Math.max(...lat.map((l) => l.p99)) } : null;
out.loadAfter = load();
say(`  process idle (source open, stopped):   ${out.idlePct.toFixed(2)} % of a core (subtracted below)`);
say(`  empty 1 kHz loop (main thread):        ${out.emptyLoopPct.toFixed(2)} %`);
say(`  sysstats 1 kHz in its worker, alone:   ${out.workerAlonePct.toFixed(2)} %  (${out.workerAloneRatio.toFixed(2)}× the empty loop; goal ≤ 1.2×)`);
say(`  + main-thread frames$ subscriber:      ${out.withSubscriberPct.toFixed(2)} %  (${out.withSubscriberRatio.toFixed(2)}× the empty loop; goal ≤ 1.5×)`);
say(`  delivered ${out.delivered} of ${out.written} written, ${out.outOfOrder} out of order, ${out.overwritten} overwritten`);
for (const r of out.consumer)
  say(`  RingConsumer on the main thread, maxDelayMs ${r.maxDelayMs}: ${r.pct.toFixed(2)} % (${r.ratio.toFixed(2)}×), ${r.itemsPerWake.toFixed(2)} items/wake-up, oldest-in-batch latency p50 ${r.p50?.toFixed(2)} ms p99 ${r.p99?.toFixed(2)} ms`);
if (out.latencyMs) say(`  capture → delivery latency (worst 1 s window): p50 ${out.latencyMs.p50.toFixed(2)} ms, p99 ${out.latencyMs.p99.toFixed(2)} ms`);
say(`load average after: ${out.loadAfter}`);
if (JSON_OUT) console.log(JSON.stringify(out));
process.exit(0);
