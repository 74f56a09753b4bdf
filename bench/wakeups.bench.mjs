#!/usr/bin/env node
// Wake-up cost: a 1 kHz sysstats source delivered to a main-thread frames$ subscriber (batched wake-ups
// through core's RingConsumer), against an empty 1 kHz loop in the same process and run.
//   empty loop:      the main thread wakes every 1 ms and does nothing (absolute deadlines, core sleepUntil:
//                    an Atomics.wait per tick and an event-loop turn every 5 ms, as the paced loop does)
//   worker alone:    the sysstats source at 1 kHz in its worker, nobody subscribed
//   + subscriber:    the same source with a frames$ subscriber on the main thread (counts every item)
//   imu alone / + subscriber: the same two cases with the example IMU plugin (examples/imu-sensor.mjs) at
//                    1 kHz: core's own cost per item (paced loop, ring commit, wake-ups) without the sysstats
//                    source's /proc reads
// The cases alternate over --rounds rounds (default 5); each round's ratios are taken against that round's
// empty loop, and the medians are reported: a case measured minutes apart from its baseline moved by more
// than the effect (other threads' GC and JIT, the shared VM). CPU is read per thread from the scheduler
// (/proc/self/task/<tid>/schedstat: time on a CPU, so waiting for a busy CPU does not count) and split into
// the main thread, the source's worker, and Node's other threads (V8's GC and compiler, libuv).
// Then, once: a bare RingConsumer on the main thread per batching window (no RxJS, no item objects), the same
// batched wake-ups with a bare Atomics.waitAsync + FrameRingReader (RingConsumer's own cost is the difference),
// and the floor of a wake-up on this machine: an empty 1 kHz loop woken by a timer (setTimeout) on the main thread.
// Every case is measured after a warm-up of it (--warmup, default 3 s, once), and in each round --settle
// (default 3 s) after the source starts or a subscriber subscribes: at 1 kHz V8 is still compiling the tick
// and delivery paths seconds in, on its compiler threads (a start-up cost, not a per-item one).
// Usage: node bench/wakeups.bench.mjs [--rounds 5] [--seconds 4] [--warmup 3] [--settle 3] [--quick] [--fields 'cpu*,mem.*'] [--json]
// Build first: pnpm --filter "@senseflow/source-sysstats..." build
import { readFileSync, readdirSync } from 'node:fs';
import { loadAverage as load } from './load.mjs';
import { FrameRingReader, HEADER_BYTES, I32, RingConsumer, monotonicNs, openSource, sleepUntil } from '@senseflow/core';
import { openSysStats } from '@senseflow/source-sysstats';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const QUICK = process.argv.includes('--quick');
const ROUNDS = Number(arg('rounds', QUICK ? 3 : 5));
const SECONDS = Number(arg('seconds', QUICK ? 2 : 4));
const WARMUP_MS = Number(arg('warmup', QUICK ? 1 : 3)) * 1000;
const SETTLE_MS = Number(arg('settle', QUICK ? 1 : 3)) * 1000;
const FIELDS = arg('fields', undefined)?.split(',');
const JSON_OUT = process.argv.includes('--json');
const say = (...a) => !JSON_OUT && console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** CPU ns of each of this process's threads, from the scheduler. */
function threadNs() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
const MAIN = String(process.pid);
let sourceTids = new Set();

/** % of one core while `during` runs for SECONDS: the whole process, and by role (main, source, other). */
async function measure(during) {
  const a = threadNs();
  const w0 = performance.now();
  await during(SECONDS * 1000);
  const b = threadNs();
  const wallNs = (performance.now() - w0) * 1e6;
  const r = { total: 0, main: 0, source: 0, other: 0 };
  for (const [tid, ns] of b) {
    const pct = ((ns - (a.get(tid) ?? ns)) / wallNs) * 100;
    r.total += pct;
    r[tid === MAIN ? 'main' : sourceTids.has(tid) ? 'source' : 'other'] += pct;
  }
  return r;
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

/** The floor of a main-thread wake-up: a 1 kHz loop woken by the event loop's timer, doing nothing. */
async function timerLoop(ms) {
  const end = performance.now() + ms;
  let wakes = 0;
  await new Promise((resolve) => {
    const tick = () => (++wakes, performance.now() < end ? setTimeout(tick, 1) : resolve());
    setTimeout(tick, 1);
  });
  return wakes;
}

const out = { date: new Date().toISOString(), node: process.version, rounds: ROUNDS, seconds: SECONDS, warmupSeconds: WARMUP_MS / 1000, loadBefore: load() };
say(`wake-up bench ${out.date}, node ${out.node}: ${ROUNDS} alternating rounds of ${SECONDS} s per case, load average ${out.loadBefore}`);

const before = new Set(threadNs().keys());
const src = await openSysStats({ hz: 1000, fields: FIELDS }, { autoStart: false });
const imu = await openSource(new URL('../examples/imu-sensor.mjs', import.meta.url), { hz: 1000 }, { autoStart: false });
sourceTids = new Set([...threadNs().keys()].filter((t) => !before.has(t) && t !== MAIN));
// Warm every path up once (JIT), the same time each.
await emptyLoop(WARMUP_MS);
for (const s of [src, imu]) {
  await s.start();
  await sleep(WARMUP_MS);
  const sub = s.frames$.subscribe(() => {});
  await sleep(WARMUP_MS);
  sub.unsubscribe();
  await s.stop();
}

let delivered = 0;
let expected = 0;
let outOfOrder = 0;
let overwritten = 0;
const lat = [];
/** A frames$ subscriber that checks every item from its first counted one to its last, once and in order. */
function subscribe(src) {
  const drops0 = src.drops();
  let counting = false;
  let first = -1n;
  let last = -1n;
  let n = 0;
  const sub = src.frames$.subscribe((r) => {
    if (!counting) return;
    if (first < 0n) first = r.seq;
    else if (r.seq !== last + 1n) outOfOrder++;
    last = r.seq;
    n++;
  });
  const statsSub = src.stats$.subscribe((s) => counting && s.latencyMs && lat.push(s.latencyMs));
  return {
    count: () => (counting = true),
    end: () => {
      sub.unsubscribe();
      statsSub.unsubscribe();
      delivered += n;
      if (first >= 0n) expected += Number(last - first) + 1;
      overwritten += src.drops().overwritten - drops0.overwritten;
    },
  };
}
const alone = (src) => async () => {
  await src.start();
  await sleep(SETTLE_MS);
  const r = await measure(sleep);
  await src.stop();
  return r;
};
const withSubscriber = (src) => async () => {
  await src.start();
  const s = subscribe(src);
  await sleep(SETTLE_MS); // a new subscription: V8 re-optimizes the delivery path on its compiler threads
  s.count();
  const r = await measure(sleep);
  s.end();
  await src.stop();
  return r;
};
const cases = {
  idle: async () => measure(sleep),
  empty: async () => measure(emptyLoop),
  alone: alone(src),
  subscriber: withSubscriber(src),
  imuAlone: alone(imu),
  imuSubscriber: withSubscriber(imu),
};
const names = Object.keys(cases);
const rounds = [];
for (let i = 0; i < ROUNDS; i++) {
  const round = {};
  for (let j = 0; j < names.length; j++) {
    const name = names[(i + j) % names.length]; // rotate the order: no case always runs first or last
    round[name] = await cases[name]();
  }
  rounds.push(round);
  say(`  round ${i + 1}: empty loop ${round.empty.total.toFixed(2)} %, sysstats alone ${round.alone.total.toFixed(2)} %, + subscriber ${round.subscriber.total.toFixed(2)} %, imu alone ${round.imuAlone.total.toFixed(2)} %, + subscriber ${round.imuSubscriber.total.toFixed(2)} %, idle ${round.idle.total.toFixed(2)} % (load ${load()})`);
}
// A case's cost = its CPU minus the idle process's in the same round; its ratio = that over the empty loop's.
const cost = (r, name, part = 'total') => r[name][part] - r.idle[part];
const ratio = (name) => median(rounds.map((r) => cost(r, name) / cost(r, 'empty')));
const pct = (name, part = 'total') => median(rounds.map((r) => cost(r, name, part)));
out.emptyLoopPct = pct('empty');
out.workerAlonePct = pct('alone');
out.withSubscriberPct = pct('subscriber');
out.workerAloneRatio = ratio('alone');
out.withSubscriberRatio = ratio('subscriber');
out.imuAlonePct = pct('imuAlone');
out.imuSubscriberPct = pct('imuSubscriber');
out.imuAloneRatio = ratio('imuAlone');
out.imuSubscriberRatio = ratio('imuSubscriber');
out.threads = Object.fromEntries(['empty', 'alone', 'subscriber', 'imuAlone', 'imuSubscriber'].map((n) => [n, { main: pct(n, 'main'), source: pct(n, 'source'), other: pct(n, 'other') }]));
out.roundRatios = Object.fromEntries(['alone', 'subscriber', 'imuAlone', 'imuSubscriber'].map((n) => [n, rounds.map((r) => cost(r, n) / cost(r, 'empty'))]));
out.delivered = delivered;
out.expected = expected;
out.outOfOrder = outOfOrder;
out.overwritten = overwritten;

// Once: a bare RingConsumer on the main thread per batching window, and the timer-woken empty loop.
await src.start();
await sleep(1000);
const aloneNow = await measure(sleep);
out.consumer = [];
for (const maxDelayMs of [0, 1, 1.5, 2, 4]) {
  const ac = new AbortController();
  const c = new RingConsumer(src.ring, { maxDelayMs, signal: ac.signal });
  let wakes = 0;
  let items = 0;
  const ages = [];
  const run = (async () => {
    while (await c.wait()) {
      wakes++;
      const now = monotonicNs();
      for (let v = c.take(); v; v = c.take()) {
        ages.push(Number(now - v.captureNs) / 1e6); // capture → delivery, every item
        items++;
      }
    }
  })();
  await sleep(500);
  wakes = 0;
  items = 0;
  ages.length = 0;
  const r = await measure(sleep);
  ac.abort();
  await run;
  ages.sort((a, b) => a - b);
  out.consumer.push({ maxDelayMs, mainPct: r.main - aloneNow.main, wakesPerSec: wakes / SECONDS, itemsPerWake: items / wakes, p50: ages[ages.length >> 1], p99: ages[Math.floor(ages.length * 0.99)], max: ages[ages.length - 1] });
}
// The same wake-ups without RingConsumer: Atomics.waitAsync on the ring's BATCH word and a bare reader
// draining it (no tail timer, no keep-alive, no batch bounds): the floor of a batched main-thread delivery,
// to set RingConsumer's own cost against.
{
  const head = new Int32Array(src.ring, 0, HEADER_BYTES / 4);
  const reader = new FrameRingReader(src.ring);
  let stop = false;
  let wakes = 0;
  let items = 0;
  const run = (async () => {
    while (!stop) {
      const seen = Atomics.load(head, I32.BATCH);
      if (reader.pending() === 0) {
        const w = Atomics.waitAsync(head, I32.BATCH, seen, 100);
        if (w.async) await w.value;
      }
      wakes++;
      for (let v = reader.next(); v; v = reader.next()) items++;
      reader.release();
    }
  })();
  await sleep(500);
  wakes = 0;
  items = 0;
  const r = await measure(sleep);
  const w = wakes;
  const it = items;
  stop = true;
  await run;
  out.rawBatch = { mainPct: r.main - aloneNow.main, wakesPerSec: w / SECONDS, itemsPerWake: it / w };
}
await src.close();
await imu.close();
let timerWakes = 0;
const idleNow = await measure(sleep);
const timer = await measure(async (ms) => (timerWakes = await timerLoop(ms)));
out.timerLoop = { mainPct: timer.main - idleNow.main, wakesPerSec: timerWakes / SECONDS };
out.loadAfter = load();

const t = out.threads;
say(`\nmedians over ${ROUNDS} rounds, % of one core minus the idle process (main thread / source worker / Node's other threads):`);
say(`  empty 1 kHz loop (main thread):        ${out.emptyLoopPct.toFixed(2)} %  (${t.empty.main.toFixed(2)} / ${t.empty.source.toFixed(2)} / ${t.empty.other.toFixed(2)})`);
say(`  sysstats 1 kHz in its worker, alone:   ${out.workerAlonePct.toFixed(2)} %  (${t.alone.main.toFixed(2)} / ${t.alone.source.toFixed(2)} / ${t.alone.other.toFixed(2)})  ${out.workerAloneRatio.toFixed(2)}× the empty loop (goal ≤ 1.2×; rounds ${out.roundRatios.alone.map((x) => x.toFixed(2)).join(', ')})`);
say(`  + main-thread frames$ subscriber:      ${out.withSubscriberPct.toFixed(2)} %  (${t.subscriber.main.toFixed(2)} / ${t.subscriber.source.toFixed(2)} / ${t.subscriber.other.toFixed(2)})  ${out.withSubscriberRatio.toFixed(2)}× the empty loop (goal ≤ 1.5×; rounds ${out.roundRatios.subscriber.map((x) => x.toFixed(2)).join(', ')})`);
say(`  imu plugin 1 kHz in its worker, alone: ${out.imuAlonePct.toFixed(2)} %  (${t.imuAlone.main.toFixed(2)} / ${t.imuAlone.source.toFixed(2)} / ${t.imuAlone.other.toFixed(2)})  ${out.imuAloneRatio.toFixed(2)}× (rounds ${out.roundRatios.imuAlone.map((x) => x.toFixed(2)).join(', ')})`);
say(`  + main-thread frames$ subscriber:      ${out.imuSubscriberPct.toFixed(2)} %  (${t.imuSubscriber.main.toFixed(2)} / ${t.imuSubscriber.source.toFixed(2)} / ${t.imuSubscriber.other.toFixed(2)})  ${out.imuSubscriberRatio.toFixed(2)}× (rounds ${out.roundRatios.imuSubscriber.map((x) => x.toFixed(2)).join(', ')})`);
say(`  delivered ${out.delivered} of ${out.expected} written between each subscription's first and last item, ${out.outOfOrder} out of order, ${out.overwritten} overwritten`);
if (lat.length) say(`  frames$ capture → delivery latency (stats$, worst 1 s window): p50 ${Math.max(...lat.map((l) => l.p50)).toFixed(2)} ms, p99 ${Math.max(...lat.map((l) => l.p99)).toFixed(2)} ms`);
say(`\nonce, main thread only (minus the same thread with the worker alone):`);
for (const r of out.consumer)
  say(`  RingConsumer, maxDelayMs ${r.maxDelayMs}: main thread ${r.mainPct.toFixed(2)} %, ${r.wakesPerSec.toFixed(0)} wake-ups/s (${((r.mainPct * 1e4) / r.wakesPerSec).toFixed(0)} µs each), ${r.itemsPerWake.toFixed(2)} items/wake-up, latency p50 ${r.p50?.toFixed(2)} / p99 ${r.p99?.toFixed(2)} / max ${r.max?.toFixed(2)} ms`);
say(`  floor: Atomics.waitAsync on BATCH + a bare FrameRingReader drain (no RingConsumer): main thread ${out.rawBatch.mainPct.toFixed(2)} %, ${out.rawBatch.wakesPerSec.toFixed(0)} wake-ups/s (${((out.rawBatch.mainPct * 1e4) / out.rawBatch.wakesPerSec).toFixed(0)} µs each), ${out.rawBatch.itemsPerWake.toFixed(2)} items/wake-up`);
say(`  floor: an empty loop woken by setTimeout(1): main thread ${out.timerLoop.mainPct.toFixed(2)} %, ${out.timerLoop.wakesPerSec.toFixed(0)} wake-ups/s (${((out.timerLoop.mainPct * 1e4) / out.timerLoop.wakesPerSec).toFixed(0)} µs each); the empty loop above: ${((t.empty.main * 1e4) / 1000).toFixed(0)} µs per tick`);
say(`load average after: ${out.loadAfter}`);
if (JSON_OUT) console.log(JSON.stringify(out));
process.exit(0);
