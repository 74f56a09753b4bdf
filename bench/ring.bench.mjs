// Frame hand-off: senseflow rings versus postMessage (structured clone) and a transferred-ArrayBuffer pool,
// in one process, one run. The same-thread costs and the cross-thread runs alternate over --rounds rounds
// (each mechanism once per round, the order rotated), and every ratio is taken within its round: medians and
// the range are printed, so a burst of load on the shared VM shows up as a spread instead of a wrong ratio.
//   node bench/ring.bench.mjs [--quick] [--rounds 5] [--json out.json]
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { loadAverage as load } from './load.mjs';
import { FrameRingReader, FrameRingWriter, SampleRingReader, SampleRingWriter, createFrameRing, createSampleRing } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';

const quick = process.argv.includes('--quick');
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : null;
const ROUNDS = Number(process.argv.includes('--rounds') ? process.argv[process.argv.indexOf('--rounds') + 1] : quick ? 2 : 5);
const SIZES = { '1080p': 1920 * 1080 * 3, '480p': 640 * 480 * 3 };
const results = {};
results.date = new Date().toISOString();
results.loadBefore = load();
console.log(`${results.date}  load average before: ${results.loadBefore}`);
const fmt = (x, d = 2) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));

function timeLoop(n, fn) {
  for (let i = 0; i < Math.min(50, n); i++) fn(i); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return ((performance.now() - t) * 1000) / n; // µs per iteration
}

// 1. Per-frame cost of each hand-off mechanism, without the wake-up (same thread): what a frame costs to pass.
function handoffCosts(bytes) {
  const n = quick ? 200 : 1000;
  const sab = createFrameRing({ slots: 8, slotBytes: bytes });
  const w = new FrameRingWriter(sab);
  const r = new FrameRingReader(sab);
  const frame = new Uint8Array(bytes).fill(7);
  const inPlace = timeLoop(n, () => {
    const s = w.begin();
    s.data[0] = 1; // the producer writes its pixels here, in place
    w.commit(s, bytes, 0n);
    r.next().data[0];
    r.release();
  });
  const oneCopy = timeLoop(Math.ceil(n / 4), () => {
    w.write(frame, 0n);
    r.next().data[0];
    r.release();
  });
  const clone = timeLoop(Math.ceil(n / 8), () => structuredClone(frame)[0]);
  return { inPlaceUs: inPlace, oneCopyUs: oneCopy, cloneUs: clone };
}

// 2. Across threads at saturation: a worker produces as fast as the consumer takes (lockstep ack), so every
//    mechanism pays its real wake-up. Frames per second and µs per frame.
const PRODUCER = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.core).then(async ({ FrameRingWriter }) => {
  const { mode, bytes, n, sab, ack } = workerData;
  const ackI = new Int32Array(ack);
  if (mode === 'ring') {
    const w = new FrameRingWriter(sab);
    for (let i = 0; i < n; i++) {
      const s = w.begin(); s.data[0] = i & 255; w.commit(s, bytes, process.hrtime.bigint());
      Atomics.wait(ackI, 0, i); // wait until the consumer took frame i (value becomes i + 1)
    }
  } else if (mode === 'clone') {
    const buf = new Uint8Array(bytes);
    for (let i = 0; i < n; i++) { buf[0] = i & 255; parentPort.postMessage(buf); Atomics.wait(ackI, 0, i); }
  } else {
    const pool = [new ArrayBuffer(bytes), new ArrayBuffer(bytes)];
    parentPort.on('message', (b) => pool.push(b));
    for (let i = 0; i < n; i++) {
      while (!pool.length) await new Promise((r) => setImmediate(r));
      const b = pool.pop(); new Uint8Array(b)[0] = i & 255;
      parentPort.postMessage(b, [b]);
      while (Atomics.load(ackI, 0) <= i) await new Promise((r) => setImmediate(r));
    }
  }
  parentPort.postMessage('done');
});`;

async function crossThread(mode, bytes, n) {
  const sab = createFrameRing({ slots: 4, slotBytes: bytes });
  const ack = new SharedArrayBuffer(4);
  const ackI = new Int32Array(ack);
  const core = import.meta.resolve('@senseflow/core');
  const w = new Worker(PRODUCER, { eval: true, workerData: { core, mode, bytes, n, sab, ack } });
  let got = 0;
  // Timed from the first frame taken to the last: the worker's start-up (loading core) is not hand-off.
  let t0 = 0;
  const taken = () => {
    if (got === 0) t0 = performance.now();
    got++;
    Atomics.store(ackI, 0, got);
    Atomics.notify(ackI, 0);
  };
  await new Promise((resolve) => {
    if (mode === 'ring') {
      const r = new FrameRingReader(sab);
      const notify = new Int32Array(sab, 0, 8);
      const loop = async () => {
        while (got < n) {
          const seen = Atomics.load(notify, 5);
          const v = r.next();
          if (v) {
            v.data[0];
            r.release();
            taken();
            continue;
          }
          const wa = Atomics.waitAsync(notify, 5, seen, 1000);
          if (wa.async) await wa.value;
        }
        resolve();
      };
      loop();
    } else {
      w.on('message', (m) => {
        if (m === 'done') return;
        if (mode === 'transfer') {
          const b = m;
          taken();
          w.postMessage(b, [b]);
        } else taken();
        if (got === n) resolve();
      });
    }
  });
  const us = ((performance.now() - t0) * 1000) / (n - 1);
  await w.terminate();
  return { us, fps: 1e6 / us };
}

// 3. Latency at 30 fps and main-thread CPU at 1080p30: the real Source API over the test pattern.
async function liveSource(width, height) {
  const cam = await openTestPattern({ width, height, fps: 30, pixelFormat: 'rgb24' });
  const lat = [];
  const sub = cam.frames$.subscribe((f) => {
    f.data[0];
    lat.push(Number(process.hrtime.bigint() - f.captureNs) / 1e6);
  });
  await new Promise((r) => setTimeout(r, 500));
  lat.length = 0;
  const elu0 = performance.eventLoopUtilization();
  await new Promise((r) => setTimeout(r, quick ? 2000 : 5000));
  const elu = performance.eventLoopUtilization(elu0);
  sub.unsubscribe();
  await cam.close();
  lat.sort((a, b) => a - b);
  return { frames: lat.length, p50Ms: lat[Math.floor(lat.length / 2)], p99Ms: lat[Math.floor(lat.length * 0.99)], mainThreadCpuPct: elu.utilization * 100 };
}

// 4. read(65536) versus the seeds' approach (a deque of chunks turned into one array on every read).
function readCost() {
  const rate = 48000, ch = 2, period = 480;
  const sab = createSampleRing({ channels: ch, rate, format: 's16le', capacityFrames: rate * 10 });
  const w = new SampleRingWriter(sab);
  const r = new SampleRingReader(sab);
  const chunk = new Int16Array(period * ch).fill(3);
  const deque = [];
  for (let i = 0; i < 1000; i++) {
    w.write(chunk, BigInt(i));
    deque.push(Array.from(chunk));
    if (deque.length > 1000) deque.shift();
  }
  const into = new Int16Array(65536 * ch);
  const ring = timeLoop(quick ? 200 : 2000, () => r.read(65536, into).data[0]);
  const ringAlloc = timeLoop(quick ? 100 : 500, () => r.read(65536).data[0]);
  const seeds = timeLoop(quick ? 10 : 50, () => {
    const flat = [].concat(...deque);
    return flat.slice(flat.length - 65536 * ch)[0];
  });
  results.read65536 = { ringUs: ring, ringAllocUs: ringAlloc, seedsDequeUs: seeds };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const MODES = ['ring', 'clone', 'transfer'];
for (const [label, bytes] of Object.entries(SIZES)) results[label] = { bytes, rounds: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, bytes] of Object.entries(SIZES)) {
    const r = handoffCosts(bytes);
    r.thread = {};
    const n = quick ? 150 : 600;
    for (let j = 0; j < MODES.length; j++) {
      const mode = MODES[(round + j) % MODES.length]; // rotate: no mechanism always runs first
      r.thread[mode] = await crossThread(mode, bytes, mode === 'clone' ? Math.ceil(n / 3) : n);
    }
    results[label].rounds.push(r);
  }
}
// Medians over the rounds; each ratio is the median of the per-round ratios.
for (const k of Object.keys(SIZES)) {
  const R = results[k].rounds;
  const m = (f) => median(R.map(f));
  const range = (f) => R.map(f);
  Object.assign(results[k], {
    inPlaceUs: m((r) => r.inPlaceUs),
    oneCopyUs: m((r) => r.oneCopyUs),
    cloneUs: m((r) => r.cloneUs),
    cloneOverInPlace: m((r) => r.cloneUs / r.inPlaceUs),
    cloneOverInPlaceRounds: range((r) => r.cloneUs / r.inPlaceUs),
    thread: Object.fromEntries(MODES.map((mode) => [mode, { fps: m((r) => r.thread[mode].fps) }])),
    ringOverClone: m((r) => r.thread.ring.fps / r.thread.clone.fps),
    ringOverCloneRounds: range((r) => r.thread.ring.fps / r.thread.clone.fps),
    ringOverTransfer: m((r) => r.thread.ring.fps / r.thread.transfer.fps),
    ringOverTransferRounds: range((r) => r.thread.ring.fps / r.thread.transfer.fps),
  });
  results[k].oneCopyFps = 1e6 / results[k].oneCopyUs;
}
readCost();
results.live1080p30 = await liveSource(1920, 1080);
results.live480p30 = await liveSource(640, 480);

const rounds = (a, d = 1) => a.map((x) => fmt(x, d)).join(', ');
console.log(`\nFrame hand-off (same thread, per frame, median of ${ROUNDS} rounds; lower is better)`);
console.log('size    in-place µs   one-copy µs (fps)        structuredClone µs   clone / in-place (rounds)');
for (const k of Object.keys(SIZES)) {
  const r = results[k];
  console.log(`${k.padEnd(7)} ${fmt(r.inPlaceUs).padStart(10)}   ${fmt(r.oneCopyUs).padStart(10)} (${fmt(r.oneCopyFps, 0)} fps)`.padEnd(52) + `${fmt(r.cloneUs).padStart(10)}   ${fmt(r.cloneOverInPlace, 0)}× (${rounds(r.cloneOverInPlaceRounds, 0)})`);
}
console.log(`\nAcross threads at saturation (worker → main, lockstep; frames per second, median of ${ROUNDS} rounds; higher is better)`);
console.log('size    ring fps   postMessage clone fps   transfer pool fps   ring / clone (rounds)   ring / transfer (rounds)');
for (const k of Object.keys(SIZES)) {
  const r = results[k];
  const t = r.thread;
  console.log(`${k.padEnd(7)} ${fmt(t.ring.fps, 0).padStart(8)}   ${fmt(t.clone.fps, 0).padStart(20)}   ${fmt(t.transfer.fps, 0).padStart(17)}   ${fmt(r.ringOverClone, 1)}× (${rounds(r.ringOverCloneRounds)})   ${fmt(r.ringOverTransfer, 1)}× (${rounds(r.ringOverTransferRounds)})`);
}
const rc = results.read65536;
console.log(`\nread(65536) stereo s16: ${fmt(rc.ringUs)} µs into a reused buffer, ${fmt(rc.ringAllocUs)} µs allocating; seeds' deque→array ${fmt(rc.seedsDequeUs)} µs (${fmt(rc.seedsDequeUs / rc.ringUs, 0)}× slower)`);
for (const k of ['live1080p30', 'live480p30']) {
  const l = results[k];
  console.log(`${k}: ${l.frames} frames, capture→delivery p50 ${fmt(l.p50Ms)} ms, p99 ${fmt(l.p99Ms)} ms, main-thread CPU ${fmt(l.mainThreadCpuPct)} % of a core`);
}
results.loadAfter = load();
console.log(`load average after: ${results.loadAfter}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
