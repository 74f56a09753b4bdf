#!/usr/bin/env node
// ALSA capture CPU: senseflow's capture worker against `arecord` on the same device, rate, channels,
// format and period, in the same run. Rounds alternate senseflow and arecord; each side's CPU time is read
// from /proc/<pid>/task/<tid>/schedstat (ns of CPU actually run, so time spent waiting for a busy CPU does
// not count) over the same wall time. For senseflow it is the threads the capture opened (the worker and
// the ALSA plugin's threads), for arecord the whole process (main thread + plugin threads). The result is
// the median of the per-round ratios; the load average is printed before and after.
// Each round also prints the split by thread: the one making the ALSA calls (senseflow's worker, arecord's
// main thread) and the plugin's own threads (the same library on both sides).
//
// Default device: the ALSA file plugin paced in real time by the private PulseAudio's null-sink monitor
// (tools/fixtures), so run it through the fixture script:
//   bash tools/fixtures/with-userspace-audio.sh node bench/audio-capture.bench.mjs
// In the kernel VM: --device hw:Loopback,1 (snd-aloop, fed by aplay on hw:Loopback,0).
// Both sides are measured after the same warm-up (--warmup, default 6 s): through pulse the worker reads
// ~350 times a second, and V8 optimizes its per-read path only 3–4 s into a capture — a start-up cost, not
// the steady state a capture runs in for hours.
// A third side, where a C compiler and the ALSA headers are present: bench/fixtures/alsa-capture-calls.c,
// the ALSA calls senseflow's native loop makes, from a plain C process. What senseflow costs above it is the
// cost of being a Node worker, not of the calls. A fourth where the kernel enabled protection keys (ospke in
// /proc/cpuinfo): the same program with the PKRU value every Node thread has (V8 write-protects its wasm code
// with a key). Under qemu without KVM every change of PKRU flushes the emulated TLB, at each switch into and
// out of such a thread, so that side shows what the emulator charges any Node thread (docs/audio.md).
// Usage: node bench/audio-capture.bench.mjs [--rounds 5] [--seconds 3] [--warmup 6] [--period 64] [--device D] [--strace] [--json]
// In the kernel VM: bash bench/audio-capture-vm.sh [--no-pku] [--tsc] [--icount] [bench options]
// --strace: one more round of each under `strace -c -f`, printing syscall counts per period (CPU figures
// from that round are not used).
// Build first: pnpm --filter @senseflow/source-audio build
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadAverage as load } from './load.mjs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openMicrophone } from '@senseflow/source-audio';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', 5));
const SECONDS = Number(arg('seconds', 3));
const PERIOD = Number(arg('period', 64));
const WARMUP_MS = Number(arg('warmup', 6)) * 1000;
const RATE = 48000;
const CH = 2;
const BUFFER = 4800; // 100 ms, as deviceBufferMs: 100 below
const JSON_OUT = process.argv.includes('--json');
const log = (...a) => JSON_OUT || console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'sf-capture-bench-'));
let device = arg('device');
if (!device) {
  if (!process.env.SENSEFLOW_PULSE_MONITOR) {
    console.error('no private PulseAudio: run through tools/fixtures/with-userspace-audio.sh, or pass --device');
    process.exit(2);
  }
  // The file plugin reads this while the slave paces it; long enough for every round (it must not run out).
  const infile = join(dir, 'in.raw');
  const seconds = (ROUNDS + 2) * (SECONDS + WARMUP_MS / 1000 + 3) + 10;
  const pcm = Buffer.alloc(RATE * CH * 2 * seconds);
  for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(((i * 7919) % 65536) - 32768, i);
  writeFileSync(infile, pcm);
  device = `senseflow_file_paced:INFILE=${infile},SLAVE=pulse:${process.env.SENSEFLOW_PULSE_MONITOR}`;
}

/** CPU ns of one task from /proc/<pid>/task/<tid>/schedstat (first field: time on the CPU). */
const taskNs = (pid, tid) => {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0; // the task ended: its time is lost for this sample (rare: threads live as long as the stream)
  }
};
const tasks = (pid) => readdirSync(`/proc/${pid}/task`);
const cpuOf = (pid, tids) => tids.reduce((s, t) => s + taskNs(pid, t), 0);
/** The first task is the one that makes the ALSA calls (senseflow's worker, arecord's main thread); the rest are the plugin's. */
const splitOf = (pid, tids, c0, wall) => {
  const pct = (t, i) => ((taskNs(pid, t) - c0[i]) / 1e9 / wall) * 100;
  const each = tids.map(pct);
  return { main: each[0] ?? 0, plugin: each.slice(1).reduce((a, b) => a + b, 0) };
};

async function senseflowRound(seconds) {
  const before = new Set(tasks(process.pid));
  const mic = await openMicrophone({ device, rate: RATE, channels: CH, periodFrames: PERIOD, deviceBufferMs: 100 });
  await sleep(WARMUP_MS); // warm-up (JIT, the stream settles)
  const tids = tasks(process.pid).filter((t) => !before.has(t)); // the capture worker and its plugin threads
  tids.sort((a, b) => Number(a) - Number(b)); // the worker first (it starts the plugin's threads)
  const each0 = tids.map((t) => taskNs(process.pid, t));
  const c0 = each0.reduce((a, b) => a + b, 0);
  const w0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - w0) / 1000;
  const split = splitOf(process.pid, tids, each0, wall);
  const pct = ((cpuOf(process.pid, tids) - c0) / 1e9 / wall) * 100;
  const drops = mic.drops();
  await mic.close();
  return { pct, ...split, threads: tids.length, driverDrops: drops.driver };
}

const ARECORD = ['arecord', '-q', '-D', device, '-f', 'S16_LE', '-r', String(RATE), '-c', String(CH), `--period-size=${PERIOD}`, `--buffer-size=${BUFFER}`, '-t', 'raw', '/dev/null'];

/** The C reference (fixtures/alsa-capture-calls.c), built here; null without a compiler or the ALSA headers. */
function buildCReference() {
  const exe = join(dir, 'alsa-capture-calls');
  const src = fileURLToPath(new URL('./fixtures/alsa-capture-calls.c', import.meta.url));
  const r = spawnSync('cc', ['-O2', '-o', exe, src, '-lasound'], { encoding: 'utf8' });
  if (r.status !== 0) {
    log(`C reference: not built (${r.error?.message ?? r.stderr.trim().split('\n')[0]}); needs cc and libasound2-dev`);
    return null;
  }
  return exe;
}
const C_REF = buildCReference();
const C_ARGS = [device, String(RATE), String(CH), String(PERIOD), String(BUFFER)];
const HAS_PKU = /\bospke\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

/** One round of a capture process (arecord or the C reference): all its threads, main thread first. */
async function processRound(seconds, argv) {
  const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  await sleep(WARMUP_MS);
  if (p.exitCode !== null) throw new Error(`${argv[0]} exited early (code ${p.exitCode})`);
  const pid = p.pid;
  const tids = tasks(pid).sort((a, b) => Number(a) - Number(b)); // main thread first
  const each0 = tids.map((t) => taskNs(pid, t));
  const c0 = cpuOf(pid, tasks(pid));
  const w0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - w0) / 1000;
  const split = splitOf(pid, tids, each0, wall);
  const pct = ((cpuOf(pid, tasks(pid)) - c0) / 1e9 / wall) * 100;
  p.kill('SIGINT');
  if (p.exitCode === null) await new Promise((r) => p.once('exit', r));
  return { pct, ...split };
}
const arecordRound = (seconds) => processRound(seconds, ARECORD);

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

const load0 = load();
log(`ALSA capture CPU, ${RATE} Hz ${CH} ch s16le, period ${PERIOD} frames (${(RATE / PERIOD).toFixed(0)} periods/s), buffer ${BUFFER}`);
log(`device: ${device}`);
log(`${new Date().toISOString()}  load average before: ${load0}  (${ROUNDS} alternating rounds of ${SECONDS} s, each after a ${WARMUP_MS / 1000} s warm-up)`);
const rows = [];
for (let r = 0; r < ROUNDS; r++) {
  // Alternate which side goes first so neither always follows the same neighbour.
  const [s, a] = r % 2 ? [null, await arecordRound(SECONDS)] : [await senseflowRound(SECONDS), null];
  const s2 = s ?? (await senseflowRound(SECONDS));
  const a2 = a ?? (await arecordRound(SECONDS));
  const c = C_REF ? await processRound(SECONDS, [C_REF, ...C_ARGS]) : null;
  const cPkey = C_REF && HAS_PKU ? await processRound(SECONDS, [C_REF, ...C_ARGS, '--pkey']) : null;
  rows.push({ senseflow: s2.pct, arecord: a2.pct, ratio: s2.pct / a2.pct, driverDrops: s2.driverDrops, threads: s2.threads, senseflowWorker: s2.main, arecordMain: a2.main, senseflowPlugin: s2.plugin, arecordPlugin: a2.plugin, cCalls: c?.pct, cCallsPkey: cPkey?.pct });
  log(`  round ${r + 1}: senseflow capture worker ${s2.pct.toFixed(2)}% (${s2.threads} threads, driver drops ${s2.driverDrops})   arecord ${a2.pct.toFixed(2)}%   ratio ${(s2.pct / a2.pct).toFixed(2)}×`);
  if (c) log(`           C, senseflow's ALSA calls: ${c.pct.toFixed(2)}%${cPkey ? `; the same with a Node thread's PKRU: ${cPkey.pct.toFixed(2)}%` : ''}`);
  log(`           the thread making the ALSA calls: senseflow worker ${s2.main.toFixed(2)}%, arecord main ${a2.main.toFixed(2)}%; plugin threads ${s2.plugin.toFixed(2)}% vs ${a2.plugin.toFixed(2)}%`);
}
const result = {
  date: new Date().toISOString(),
  device,
  period: PERIOD,
  loadBefore: load0,
  loadAfter: load(),
  senseflowPct: median(rows.map((x) => x.senseflow)),
  arecordPct: median(rows.map((x) => x.arecord)),
  ratio: median(rows.map((x) => x.ratio)),
  senseflowWorkerPct: median(rows.map((x) => x.senseflowWorker)),
  cCallsPct: C_REF ? median(rows.map((x) => x.cCalls)) : null,
  cCallsPkeyPct: C_REF && HAS_PKU ? median(rows.map((x) => x.cCallsPkey)) : null,
  arecordMainPct: median(rows.map((x) => x.arecordMain)),
  rounds: rows,
};
log(`median: senseflow ${result.senseflowPct.toFixed(2)}% of a core, arecord ${result.arecordPct.toFixed(2)}%, ratio ${result.ratio.toFixed(2)}× (goal ≤ 1.5×: ${result.ratio <= 1.5 ? 'met' : 'NOT met'})`);
log(`median of the thread making the ALSA calls: senseflow worker ${result.senseflowWorkerPct.toFixed(2)}%, arecord main ${result.arecordMainPct.toFixed(2)}% (the rest is the plugin's threads, the same library on both sides)`);
if (C_REF) log(`median of the C program making senseflow's ALSA calls: ${result.cCallsPct.toFixed(2)}% (arecord ×${(result.cCallsPct / result.arecordPct).toFixed(2)})${HAS_PKU ? `; with a Node thread's PKRU: ${result.cCallsPkeyPct.toFixed(2)}% (×${(result.cCallsPkeyPct / result.arecordPct).toFixed(2)})` : ''}`);
log(`load average after: ${result.loadAfter}`);

if (process.argv.includes('--strace')) {
  if (spawnSync('strace', ['-V'], { stdio: 'ignore' }).status !== 0) log('strace: not installed (apt-get install strace)');
  else {
    const summary = (file) => {
      const out = {};
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const m = line.trim().split(/\s+/);
        if (m.length >= 5 && /^\d/.test(m[0]) && m[m.length - 1] !== 'total') out[m[m.length - 1]] = Number(m[3]);
      }
      return out;
    };
    // arecord under strace for the same wall time; senseflow: strace attached to this process for the round.
    const aFile = join(dir, 'arecord.strace');
    log('strace: arecord …');
    spawnSync('strace', ['-c', '-f', '-o', aFile, ...ARECORD.slice(0, -1), '-d', String(Math.ceil(SECONDS + 1.5)), '/dev/null'], { timeout: (SECONDS + 15) * 1000 });
    log('strace: senseflow …');
    const sFile = join(dir, 'senseflow.strace');
    const before = new Set(tasks(process.pid));
    const mic = await openMicrophone({ device, rate: RATE, channels: CH, periodFrames: PERIOD, deviceBufferMs: 100 });
    await sleep(1500);
    const tids = tasks(process.pid).filter((t) => !before.has(t));
    const st = spawn('strace', ['-c', '-o', sFile, ...tids.flatMap((t) => ['-p', t])], { stdio: 'ignore' });
    await sleep(Math.ceil(SECONDS + 1.5) * 1000);
    st.kill('SIGINT');
    await new Promise((r) => st.once('exit', r));
    await mic.close();
    const a = summary(aFile);
    const s = summary(sFile);
    const names = [...new Set([...Object.keys(a), ...Object.keys(s)])].sort((x, y) => (s[y] ?? 0) + (a[y] ?? 0) - (s[x] ?? 0) - (a[x] ?? 0)).slice(0, 10);
    log(`\nsyscalls per period (strace -c over ${Math.ceil(SECONDS + 1.5)} s: arecord's whole run incl. its start-up, senseflow's capture threads while streaming):`);
    const per = Math.ceil(SECONDS + 1.5);
    for (const n of names) log(`  ${n.padEnd(14)} senseflow ${((s[n] ?? 0) / ((RATE / PERIOD) * per)).toFixed(2).padStart(6)}   arecord ${((a[n] ?? 0) / ((RATE / PERIOD) * per)).toFixed(2).padStart(6)}`);
    result.syscallsPerPeriod = { senseflow: s, arecord: a, seconds: per };
  }
}
rmSync(dir, { recursive: true, force: true });
if (JSON_OUT) console.log(JSON.stringify(result, null, 2));
