// MCAP recording versus the per-stream files (MKV + WAV + NDJSON/CSV), same sources, same run: one
// session writes format 'mcap' (one worker, one session.mcap), the other format 'files' (one worker per
// stream), both reading the same rings at once. Sources: 1280×720 MJPEG at 30 fps (pre-encoded JPEG
// frames, stored as captured by both), 48 kHz stereo s16 tone, 100 Hz records of 16 fields.
// Measured: CPU time of each session's recording worker threads (from /proc/self/task/TID/stat), and
// bytes written per second.
//   node bench/mcap.bench.mjs [--quick] [--json out.json]
//
// This file is also the bench's MJPEG and records source plugins (imported in a source worker it only
// exports the definition), so no pixel work happens during the measurement.
import { isMainThread, workerData } from 'node:worker_threads';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadAverage } from './load.mjs';
import { join } from 'node:path';
import { defineSource, formatCode, openSource } from '@senseflow/core';

export default defineSource({
  name: 'mcap-bench',
  options: (raw) => ({ kind: 'mjpeg', fps: 30, hz: 100, fields: 16, frames: [], ...(raw ?? {}) }),
  describe: (o) =>
    o.kind === 'mjpeg'
      ? { kind: 'video', width: 1280, height: 720, pixelFormat: 'mjpeg', stride: 0, fps: o.fps, ring: { slots: 60, slotBytes: 1 << 20 }, description: '[bench] 720p MJPEG' }
      : { kind: 'records', fields: Array.from({ length: o.fields }, (_, i) => ({ name: `f${i}`, unit: '1' })), rate: o.hz, ring: { slots: 1024 }, description: '[bench] records' },
  open(ctx, o) {
    let timer = null;
    let n = 0;
    const period = 1000 / (o.kind === 'mjpeg' ? o.fps : o.hz);
    const tick = () => {
      const s = ctx.frames.begin();
      if (!s) return;
      if (o.kind === 'mjpeg') {
        const f = o.frames[n % o.frames.length];
        s.data.set(f);
        s.format = formatCode('mjpeg');
        s.width = 1280;
        s.height = 720;
        s.flags = 4;
        ctx.frames.commit(s, f.byteLength, ctx.clock.now());
      } else {
        const v = new Float64Array(s.data.buffer, s.data.byteOffset, o.fields);
        for (let i = 0; i < o.fields; i++) v[i] = Math.sin(n / 10 + i) * 100;
        ctx.frames.commit(s, o.fields * 8, ctx.clock.now());
      }
      n++;
    };
    let next = 0;
    const loop = () => {
      tick();
      next += period;
      timer = setTimeout(loop, Math.max(0, next - performance.now()));
    };
    return {
      start() {
        next = performance.now();
        loop();
      },
      stop() {
        clearTimeout(timer);
      },
      close() {
        clearTimeout(timer);
      },
    };
  },
});

const tids = () => new Set(readdirSync('/proc/self/task'));
const CLK = 100; // USER_HZ
function cpuSeconds(set) {
  let ticks = 0;
  for (const t of set) {
    try {
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(rest[11]) + Number(rest[12]); // utime + stime
    } catch {
      // thread gone
    }
  }
  return ticks / CLK;
}
const dirBytes = (dir, pred = () => true) => readdirSync(dir).filter(pred).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

async function main() {
  const quick = process.argv.includes('--quick');
  const jsonAt = process.argv.indexOf('--json');
  const seconds = quick ? 5 : 15;
  const loadBefore = loadAverage();
  const sharp = (await import('sharp')).default;
  const { record } = await import('@senseflow/sinks');
  const { openTone } = await import('@senseflow/source-audio');
  // Eight different 720p JPEG frames (gradient + noise, a webcam-like size).
  const frames = [];
  for (let i = 0; i < 8; i++) {
    const noise = await sharp({ create: { width: 1280, height: 720, channels: 3, noise: { type: 'gaussian', mean: 110 + i * 4, sigma: 12 } } }).png().toBuffer();
    frames.push(await sharp(noise).blur(1.2).jpeg({ quality: 80 }).toBuffer());
  }
  await import('node:fs/promises').then((fs) => fs.readFile(new URL(import.meta.url))); // start libuv's pool now, not during the measurement
  const stopped = { autoStart: false };
  const self = new URL(import.meta.url);
  const streams = {
    video: await openSource(self, { kind: 'mjpeg', fps: 30, frames }, stopped),
    audio: await openTone({ rate: 48000, channels: 2 }, stopped),
    stats: await openSource(self, { kind: 'records', hz: 100, fields: 16 }, stopped),
  };
  const base = mkdtempSync(join(tmpdir(), 'sf-bench-mcap-'));
  const before = tids();
  const mcap = await record({ dir: join(base, 'mcap'), streams, format: 'mcap', manifestIntervalMs: 0 });
  const mcapThreads = new Set([...tids()].filter((t) => !before.has(t)));
  const before1 = tids();
  const plain = await record({ dir: join(base, 'mcap-plain'), streams, format: 'mcap', mcap: { compression: 'none' }, manifestIntervalMs: 0 });
  const plainThreads = new Set([...tids()].filter((t) => !before1.has(t)));
  const before2 = tids();
  const files = await record({ dir: join(base, 'files'), streams, format: 'files', manifestIntervalMs: 0 });
  const fileThreads = new Set([...tids()].filter((t) => !before2.has(t)));
  const cpu0 = { mcap: cpuSeconds(mcapThreads), plain: cpuSeconds(plainThreads), files: cpuSeconds(fileThreads) };
  const t0 = performance.now();
  await Promise.all(Object.values(streams).map((s) => s.start()));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await Promise.all(Object.values(streams).map((s) => s.stop()));
  // CPU up to the end of capture (finalizing is a one-off, reported with the files' sizes below).
  const cpu1 = { mcap: cpuSeconds(mcapThreads), plain: cpuSeconds(plainThreads), files: cpuSeconds(fileThreads) };
  const wall = (performance.now() - t0) / 1000;
  const [mm, pm, fm] = await Promise.all([mcap.stop(), plain.stop(), files.stop()]);
  await Promise.all(Object.values(streams).map((s) => s.close()));
  const bytes = { mcap: dirBytes(join(base, 'mcap'), (f) => f.endsWith('.mcap')), plain: dirBytes(join(base, 'mcap-plain'), (f) => f.endsWith('.mcap')), files: dirBytes(join(base, 'files'), (f) => f !== 'session.json') };
  const items = (m) => Object.fromEntries(m.streams.map((s) => [s.name, s.items]));
  const drops = (m) => m.streams.reduce((n, s) => n + Object.values(s.drops).reduce((a, b) => a + b, 0), 0);
  const row = (name, k, m, threads) => ({
    format: name,
    threads: threads.size,
    cpuPct: (100 * (cpu1[k] - cpu0[k])) / wall,
    mbPerS: bytes[k] / wall / 1e6,
    items: items(m),
    drops: drops(m),
  });
  const rows = [row('mcap (session.mcap, zstd chunks ≤ 250 ms)', 'mcap', mm, mcapThreads), row('mcap, uncompressed chunks', 'plain', pm, plainThreads), row('files (video.mkv + audio.wav + stats.ndjson/csv + sidecars)', 'files', fm, fileThreads)];
  const avgJpeg = frames.reduce((n, f) => n + f.byteLength, 0) / frames.length;
  console.log(`MCAP vs MKV+WAV+NDJSON, same sources, same run — ${new Date().toISOString().slice(0, 10)}, load average ${loadBefore} before, ${loadAverage()} after, ${seconds} s`);
  console.log(`sources: 1280x720 MJPEG @30 fps (avg JPEG ${(avgJpeg / 1024).toFixed(0)} KiB), 48 kHz stereo s16, 100 Hz × 16 fields`);
  console.log('format'.padEnd(62) + 'threads  CPU %   MB/s   items (video/audio/stats)   drops');
  for (const r of rows)
    console.log(
      `${r.format.padEnd(62)}${String(r.threads).padStart(7)}  ${r.cpuPct.toFixed(1).padStart(5)}  ${r.mbPerS.toFixed(2).padStart(5)}   ${`${r.items.video}/${r.items.audio}/${r.items.stats}`.padEnd(26)}  ${r.drops}`,
    );
  console.log(`ratio mcap/files: CPU ${(rows[0].cpuPct / rows[2].cpuPct).toFixed(2)}×, bytes ${(rows[0].mbPerS / rows[2].mbPerS).toFixed(2)}×`);
  if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ date: new Date().toISOString(), loadBefore, loadAfter: loadAverage(), seconds, rows }, null, 2));
}

if (isMainThread && !workerData) await main();
