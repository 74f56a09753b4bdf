// Flow control (ACK) on loopback, each figure beside its same-run baseline (the same client without ACKs):
//   node bench/freshness.bench.mjs [--seconds 15] [--fast-seconds 5] [--json out.json]
//
//   1. slow readers: raw 320×240 rgb24 at 30 fps + 48 kHz stereo (7 MB/s offered), two bare protocol clients
//      reading 640 KiB/s at once, one acking, one not: the age of each video frame on arrival after a 4 s
//      warm-up (p50 / p99 / max), frames received.
//   2. a fast client: connect() receiving raw 1920×1080 rgb24 offered at 150 fps (930 MB/s), with ACKs
//      (the default) and without, in alternating rounds: frames received per second and ACKs per second.
//
// Phase 2's source is bench/net.bench.mjs's "blast" plugin (a frame ring filled once; each frame only gets a
// new seq and capture time), so it measures the network path, not pixel generation.
import { isMainThread } from 'node:worker_threads';
import { connect as tcpConnect } from 'node:net';
import { loadAverage as load } from './load.mjs';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monotonicNs, openSource } from '@senseflow/core';


if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) await main();

async function main() {
  const { Acker, FrameParser, jsonMessage, MsgType, parseJson, serve, connect } = await import('@senseflow/net');
  const { openTestPattern } = await import('@senseflow/source-video');
  const { openTone } = await import('@senseflow/source-audio');
  const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);
  const SECONDS = Number(arg('seconds', '15'));
  const FAST_SECONDS = Number(arg('fast-seconds', '5'));
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const pct = (xs, p) => (xs.length ? xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN);
  const results = { date: new Date().toISOString(), loadBefore: load() };
  console.log(`${results.date}  load average before: ${results.loadBefore}`);

  // 1. slow readers
  const cam = await openTestPattern({ width: 320, height: 240, fps: 30, pixelFormat: 'rgb24' });
  const mic = await openTone({ rate: 48000, channels: 2 });
  const server = await serve({ sources: { cam, mic }, port: 0, dashboard: false });
  const slow = async (ack) => {
    const s = tcpConnect({ host: '127.0.0.1', port: server.address.port });
    await new Promise((r) => s.once('connect', r));
    s.write(jsonMessage(MsgType.HELLO, { video: 'raw', ack }));
    s.pause();
    const p = new FrameParser(64 << 20);
    let acker = null;
    let read = 0;
    const ages = [];
    const t0 = performance.now();
    const pace = setInterval(() => {
      const allowed = ((performance.now() - t0) / 1000) * 640 * 1024;
      while (read < allowed) {
        const chunk = s.read(Math.min(16384, Math.ceil(allowed - read))) ?? s.read();
        if (!chunk) break;
        for (const m of p.push(chunk)) {
          if (m.type === MsgType.STREAMS && parseJson(m).ack) (acker = new Acker((a) => s.write(a), parseJson(m).ack)).consume(read);
          if (m.type === MsgType.VIDEO && performance.now() - t0 > 4000) ages.push(Number(monotonicNs() - m.captureNs) / 1e6);
        }
        read += chunk.length;
        acker?.consume(chunk.length);
      }
    }, 10);
    await sleep(SECONDS * 1000);
    clearInterval(pace);
    acker?.stop();
    s.destroy();
    return { frames: ages.length, ageMs: { p50: Math.round(pct(ages, 0.5)), p99: Math.round(pct(ages, 0.99)), max: Math.round(Math.max(...ages)) } };
  };
  const [acking, plain] = await Promise.all([slow(true), slow(false)]);
  results.slow = { acking, nonAcking: plain };
  console.log(`640 KiB/s reader, frame age on arrival after 4 s (p50/p99/max ms): acking ${acking.ageMs.p50}/${acking.ageMs.p99}/${acking.ageMs.max} (${acking.frames} frames)` +
    `  ·  non-acking (baseline) ${plain.ageMs.p50}/${plain.ageMs.p99}/${plain.ageMs.max} (${plain.frames} frames)`);
  await server.close();
  await cam.close();
  await mic.close();

  // 2. a fast client
  // net.bench.mjs's source: a ring filled once, each frame a new seq and capture time (no rendering).
  const blast = await openSource(new URL('./net.bench.mjs', import.meta.url), { fps: 150 });
  await blast.start();
  const fastServer = await serve({ sources: { cam: blast }, port: 0, dashboard: false });
  const url = `tcp://127.0.0.1:${fastServer.address.port}`;
  const rounds = { ack: [], noAck: [] };
  for (let round = 0; round < 2; round++) {
    for (const ack of [true, false]) {
      const src = await connect(url, { stream: 'cam', ack });
      await sleep(500); // the window grows within a few ACK intervals; measure after that
      let n = 0;
      const sub = src.frames$.subscribe(() => n++);
      const before = (await fastServer.clientStats())[0]?.flow?.acks ?? 0;
      const t = performance.now();
      await sleep(FAST_SECONDS * 1000);
      const secs = (performance.now() - t) / 1000;
      const flow = (await fastServer.clientStats())[0]?.flow;
      sub.unsubscribe();
      await src.close();
      (ack ? rounds.ack : rounds.noAck).push({ fps: n / secs, mbps: (n * 1920 * 1080 * 3) / secs / 1e6, acksPerSec: flow ? (flow.acks - before) / secs : 0 });
    }
  }
  const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
  results.fast = { ack: rounds.ack, noAck: rounds.noAck };
  console.log(`fast connect(), 1080p rgb24 offered at 150 fps: with ACKs ${mean(rounds.ack, 'fps').toFixed(1)} fps (${mean(rounds.ack, 'mbps').toFixed(0)} MB/s, ${mean(rounds.ack, 'acksPerSec').toFixed(0)} ACKs/s)` +
    `  ·  without (baseline) ${mean(rounds.noAck, 'fps').toFixed(1)} fps (${mean(rounds.noAck, 'mbps').toFixed(0)} MB/s)  ·  ratio ${(mean(rounds.ack, 'fps') / mean(rounds.noAck, 'fps')).toFixed(2)}`);
  await fastServer.close();
  await blast.close();
  results.loadAfter = load();
  console.log(`load average after: ${results.loadAfter}`);
  const out = arg('json', null);
  if (out) writeFileSync(out, JSON.stringify(results, null, 2));
  process.exit(0);
}
