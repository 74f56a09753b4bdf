// NATS transport: publish → receive latency and throughput for 720p JPEG at 30 Hz, 48 kHz stereo audio in
// 10 ms chunks, and 1 kHz records, through a private nats-server on 127.0.0.1 — and, in the same run, the
// same streams over senseflow's own WebSocket transport when @senseflow/net provides it.
//   node bench/nats.bench.mjs [--quick]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSource } from '@senseflow/core';
import { openTone } from '@senseflow/source-audio';
import { openRemote, publish } from '@senseflow/nats';
import { loadAverage } from './load.mjs';

const quick = process.argv.includes('--quick');
const seconds = quick ? 3 : 8;
console.log(`nats bench ${new Date().toISOString()}, ${seconds} s per stream, load average before: ${loadAverage()}`);
const dir = mkdtempSync(join(tmpdir(), 'sf-natsbench-'));
const jpeg = join(dir, 'frame.jpg');
execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720', '-frames:v', '1', '-q:v', '3', jpeg]);
const port = 14000 + Math.floor(Math.random() * 1000);
const server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 700));
const servers = `nats://127.0.0.1:${port}`;

const streams = {
  'video 720p JPEG @30 Hz': () => openSource(new URL('./fixtures/jpeg-source.mjs', import.meta.url), { path: jpeg, fps: 30 }),
  'audio 48 kHz stereo, 10 ms chunks': () => openTone({ rate: 48000, channels: 2, periodFrames: 480 }),
  'records @1 kHz': () => openSource(new URL('../examples/imu-sensor.mjs', import.meta.url), { hz: 1000 }),
};

async function measure(open, pubFn, subFn) {
  const src = await open();
  const link = await pubFn(src);
  const remote = await subFn(link);
  const lat = [];
  let bytes = 0;
  const sub = remote.frames$.subscribe((i) => {
    // Audio: from the capture of the chunk's LAST sample (a chunk cannot leave before it is complete).
    const end = i.kind === 'audio' ? i.captureNs + (BigInt(i.frames) * 1_000_000_000n) / BigInt(i.rate) : i.captureNs;
    lat.push(Number(process.hrtime.bigint() - end) / 1e6);
    bytes += i.data ? i.data.byteLength : i.values.byteLength;
  });
  await new Promise((r) => setTimeout(r, 500));
  lat.length = 0;
  bytes = 0;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const dt = (performance.now() - t0) / 1000;
  sub.unsubscribe();
  const drops = remote.drops();
  await remote.close();
  await link.close();
  await src.close();
  lat.sort((a, b) => a - b);
  return { items: lat.length, perSec: lat.length / dt, mbPerSec: bytes / dt / 1e6, p50: lat[lat.length >> 1], p99: lat[Math.floor(lat.length * 0.99)], drops };
}

const natsPub = (src) => publish(src, { servers, node: 'bench', stream: `s${Math.floor(Math.random() * 1e6)}` });
const natsSub = (pub) => openRemote({ servers, subject: pub.subject });
const rows = [];
for (const [name, open] of Object.entries(streams)) rows.push({ transport: 'NATS', name, ...(await measure(open, natsPub, natsSub)) });

// Our own WebSocket transport, if the sinks package has it (same streams, same measurement).
const net = await import('@senseflow/net').catch(() => ({}));
if (typeof net.serve === 'function' && typeof net.connect === 'function') {
  for (const [name, open] of Object.entries(streams)) {
    const wsPub = async (src) => {
      const srv = await net.serve({ sources: { s: src }, port: 0 });
      return { close: () => srv.close(), url: `${srv.url.replace(/^http/, 'ws')}ws` };
    };
    const wsSub = (link) => net.connect(`${link.url}`, { stream: 's' });
    try {
      rows.push({ transport: 'WebSocket', name, ...(await measure(open, wsPub, wsSub)) });
    } catch (e) {
      rows.push({ transport: 'WebSocket', name, error: e.message });
    }
  }
} else console.log('(WebSocket transport not available in @senseflow/net: NATS only)');

server.kill();
console.log('\npublish → receive on 127.0.0.1 (latency = capture → delivery on the receiving thread; audio from the chunk\'s last sample)');
console.log('transport   stream                                items/s    MB/s    p50 ms    p99 ms   drops');
for (const r of rows) {
  if (r.error) console.log(`${r.transport.padEnd(11)} ${r.name.padEnd(36)}  error: ${r.error}`);
  else
    console.log(
      `${r.transport.padEnd(11)} ${r.name.padEnd(36)} ${r.perSec.toFixed(0).padStart(8)} ${r.mbPerSec.toFixed(2).padStart(7)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(9)}   ${JSON.stringify(Object.fromEntries(Object.entries(r.drops).filter(([, v]) => v)))}`,
    );
}
console.log(`load average after: ${loadAverage()}`);
