#!/usr/bin/env node
// read(65536) — the newest 65536 frames of 48 kHz stereo s16 — from senseflow's SampleRingReader (one
// SharedArrayBuffer, two typed-array copies at most) versus the approach of the seed scripts: a JS array
// deque of per-period chunks, concatenated on every read (into an Int16Array, and the still more naive
// plain JS number array). Interleaved rounds, medians, load average before and after.
// (Capture CPU against arecord: bench/audio-capture.bench.mjs.)
// Usage: node bench/audio-read.bench.mjs [--json]
import { loadAverage } from './load.mjs';
import { SampleRingReader, SampleRingWriter, createSampleRing } from '@senseflow/core';

const JSON_OUT = process.argv.includes('--json');
const results = {};
const log = (...a) => JSON_OUT || console.log(...a);
results.date = new Date().toISOString();
results.loadBefore = loadAverage();
log(`${results.date}  load average before: ${results.loadBefore}`);

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

results.loadAfter = loadAverage();
log(`load average after: ${results.loadAfter}`);
if (JSON_OUT) console.log(JSON.stringify(results, null, 2));
