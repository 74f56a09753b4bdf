#!/usr/bin/env node
// Audio benchmarks, side by side in one run:
// 1. read(65536) — the newest 65536 frames of 48 kHz stereo s16 — from senseflow's SampleRingReader
//    (one SharedArrayBuffer, two typed-array copies at most) versus the approach of the seed scripts:
//    a JS array deque of per-period chunks, concatenated on every read (into an Int16Array, and the
//    still more naive plain JS number array).
// 2. Capture CPU at 48 kHz stereo with 64-frame periods (750 wake-ups a second): process.cpuUsage of
//    this process (the capture worker included) minus an idle baseline, next to arecord doing the
//    same capture (its utime+stime from /proc). Needs a PulseAudio server (PULSE_SERVER), e.g.
//      bash tools/fixtures/with-userspace-audio.sh node bench/audio-read.bench.mjs
// Usage: node bench/audio-read.bench.mjs [--seconds 3] [--device pulse:senseflow_null.monitor] [--json]
// Build first: pnpm --filter @senseflow/source-audio... build
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SampleRingReader, SampleRingWriter, createSampleRing } from '@senseflow/core';
import { openMicrophone } from '@senseflow/source-audio';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SECONDS = Number(arg('seconds', 3));
const DEVICE = arg('device', `pulse:${process.env.SENSEFLOW_PULSE_MONITOR ?? 'senseflow_null.monitor'}`);
const JSON_OUT = process.argv.includes('--json');
const results = {};
const log = (...a) => JSON_OUT || console.log(...a);

// ---- 1. read(65536) ----------------------------------------------------------------------------
const RATE = 48000;
const CH = 2;
const PERIOD = 480;
const N = 65536;
const chunkCount = (RATE * 10) / PERIOD; // 10 s of audio in both stores

const sab = createSampleRing({ channels: CH, rate: RATE, format: 's16le', capacityFrames: RATE * 10, chunks: 4096 });
const writer = new SampleRingWriter(sab);
const deque = [];
let t = 1_000_000_000n;
for (let k = 0; k < chunkCount + 7; k++) {
  const period = new Int16Array(PERIOD * CH).map((_, i) => (k * 31 + i) & 0x7fff);
  writer.write(period, t);
  t += 10_000_000n;
  deque.push(period); // the seeds keep every chunk object and drop the oldest
  if (deque.length > chunkCount) deque.shift();
}
const reader = new SampleRingReader(sab);

function dequeReadTyped(n) {
  const need = n * CH;
  let k = deque.length;
  let have = 0;
  while (k > 0 && have < need) have += deque[--k].length;
  const out = new Int16Array(have);
  for (let i = k, at = 0; i < deque.length; at += deque[i].length, i++) out.set(deque[i], at);
  return out.subarray(have - need);
}
function dequeReadArray(n) {
  const need = n * CH;
  let k = deque.length;
  let have = 0;
  while (k > 0 && have < need) have += deque[--k].length;
  let out = [];
  for (let i = k; i < deque.length; i++) out = out.concat(Array.from(deque[i]));
  return out.slice(out.length - need);
}

// same result from all three (so the comparison is fair)
const a = reader.read(N).data;
const b = dequeReadTyped(N);
const c = dequeReadArray(N);
if (a.length !== b.length || b.length !== c.length || a.some((v, i) => v !== b[i] || v !== c[i])) throw new Error('the three reads disagree');

// Interleaved rounds, median per variant: a busy machine slows every variant alike instead of one.
function timeAll(fns, rounds = 7, msPerRound = 150) {
  const samples = fns.map(() => []);
  for (const fn of fns) for (let i = 0; i < 10; i++) fn(); // warm-up
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, k) => {
      let n = 0;
      const t0 = performance.now();
      let el = 0;
      while ((el = performance.now() - t0) < msPerRound) {
        fn();
        n++;
      }
      samples[k].push((el * 1000) / n);
    });
  }
  return samples.map((s) => {
    const us = s.sort((x, y) => x - y)[s.length >> 1];
    return { usPerOp: us, opsPerSec: 1e6 / us };
  });
}
const into = new Int16Array(N * CH);
const [ring, ringInto, typed, plain] = timeAll([() => reader.read(N), () => reader.read(N, into), () => dequeReadTyped(N), () => dequeReadArray(N)]);
results.read65536 = { ring, ringInto, dequeTyped: typed, dequeArray: plain };
log(`read(${N}) of 48 kHz stereo s16 (10 s held), µs per read (median of 7 interleaved rounds):`);
log(`  SampleRingReader.read(n)         ${ring.usPerOp.toFixed(1).padStart(9)}   1.00x`);
log(`  SampleRingReader.read(n, into)   ${ringInto.usPerOp.toFixed(1).padStart(9)}   ${(ring.usPerOp / ringInto.usPerOp).toFixed(2)}x faster than read(n)`);
log(`  deque of chunks → Int16Array     ${typed.usPerOp.toFixed(1).padStart(9)}   ${(typed.usPerOp / ring.usPerOp).toFixed(2)}x the time of read(n), ${(typed.usPerOp / ringInto.usPerOp).toFixed(1)}x of read(n, into)`);
log(`  deque of chunks → JS array       ${plain.usPerOp.toFixed(1).padStart(9)}   ${(plain.usPerOp / ring.usPerOp).toFixed(0)}x the time of read(n), ${(plain.usPerOp / ringInto.usPerOp).toFixed(0)}x of read(n, into)`);

// ---- 2. capture CPU with 64-frame periods ---------------------------------------------------------
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(fn) {
  const c0 = cpuUs();
  const w0 = performance.now();
  const extra = await fn();
  return { cpuPct: ((cpuUs() - c0) / ((performance.now() - w0) * 1000)) * 100, ...extra };
}

if (!process.env.PULSE_SERVER && !arg('device')) {
  log('\ncapture CPU: skipped (no PULSE_SERVER; run through tools/fixtures/with-userspace-audio.sh or pass --device)');
} else {
  const idle = await measure(async () => (await sleep(SECONDS * 1000), {}));
  const mic = await openMicrophone({ device: DEVICE, rate: RATE, channels: CH, periodFrames: 64, deviceBufferMs: 100 });
  await sleep(2500); // warm-up: a new stream on an idle null-sink monitor starts up to ~2 s late
  const ringReader = new SampleRingReader(mic.ring);
  const framesSince = (from) => Number(ringReader.framesWritten() - from) / SECONDS;
  // (a) the capture worker alone: nobody reads on the main thread
  let m0 = ringReader.framesWritten();
  const alone = await measure(async () => (await sleep(SECONDS * 1000), { ringFramesPerSec: framesSince(m0) }));
  // (b) plus a main-thread subscriber that sees every chunk (frames$)
  let chunks = 0;
  let frames = 0;
  const sub = mic.frames$.subscribe((ch) => {
    chunks++;
    frames += ch.frames;
  });
  m0 = ringReader.framesWritten();
  const cap = await measure(async () => (await sleep(SECONDS * 1000), { chunksPerSec: chunks / SECONDS, framesPerSec: frames / SECONDS, ringFramesPerSec: framesSince(m0) }));
  sub.unsubscribe();
  const drops = mic.drops();
  await mic.close();

  // arecord, the C baseline: same device, rate, period; its own CPU from /proc/<pid>/stat
  const ticks = 100; // USER_HZ (clock ticks per second in /proc/<pid>/stat) is 100 on Linux
  const rec = spawn('arecord', ['-q', '-D', DEVICE, '-f', 'S16_LE', '-r', String(RATE), '-c', String(CH), '--period-size=64', '--buffer-size=4800', '-t', 'raw', '/dev/null']);
  await sleep(1000);
  const procCpu = () => {
    const s = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticks;
  };
  const r0 = procCpu();
  const w0 = performance.now();
  await sleep(SECONDS * 1000);
  const arecordPct = ((procCpu() - r0) / ((performance.now() - w0) / 1000)) * 100;
  rec.kill('SIGINT');

  results.capture64 = { device: DEVICE, idleCpuPct: idle.cpuPct, workerOnlyCpuPct: alone.cpuPct - idle.cpuPct, withSubscriberCpuPct: cap.cpuPct - idle.cpuPct, chunksPerSec: cap.chunksPerSec, framesPerSec: cap.framesPerSec, ringFramesPerSec: cap.ringFramesPerSec, drops, arecordCpuPct: arecordPct };
  log(`\ncapture at 48 kHz stereo s16, periodFrames 64, from ${DEVICE} (${SECONDS} s):`);
  log(`  (idle process: ${idle.cpuPct.toFixed(2)}% of a core, subtracted below)`);
  log(`  senseflow, capture worker only               ${(alone.cpuPct - idle.cpuPct).toFixed(2)}% of a core, ${alone.ringFramesPerSec.toFixed(0)} frames/s into the ring`);
  log(`  senseflow, + main-thread frames$ subscriber  ${(cap.cpuPct - idle.cpuPct).toFixed(2)}% of a core, ${cap.chunksPerSec.toFixed(0)} chunks/s, ${cap.framesPerSec.toFixed(0)} frames/s seen, driver drops ${drops.driver}`);
  log(`  arecord --period-size=64 (C, same device)    ${arecordPct.toFixed(2)}% of a core`);
}
if (JSON_OUT) console.log(JSON.stringify(results, null, 2));
