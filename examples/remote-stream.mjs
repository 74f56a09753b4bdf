#!/usr/bin/env node
// A sensor graph across two processes (or machines): one serves a camera-like test pattern and a tone,
// the other connects and uses them as ordinary sources — same API, same seq and capture times.
//
//   node examples/remote-stream.mjs serve [--port 8080] [--host 127.0.0.1] [--token T] [--width 640] [--height 480] [--fps 30] [--format rgb24]
//   node examples/remote-stream.mjs view tcp://127.0.0.1:8080 [--token T] [--stream cam] [--video raw|jpeg] [--seconds 5]
//   node examples/remote-stream.mjs view-all ws://127.0.0.1:8080/ws [--token T] [--seconds 5]
//
// `view-all` opens every served stream over ONE connection (connect() without `stream` returns a map of
// Sources) and prints one summary line per stream: items, rate (audio: samples/s), network drops.
//
// `serve` prints one JSON line {"port":…,"url":…} and runs until stdin closes or SIGINT/SIGTERM.
// `view` prints one JSON line per second: rate, capture→here latency (meaningful on one host, where both
// sides share CLOCK_MONOTONIC), drops; then a summary line.
import { parseArgs } from 'node:util';
import { monotonicNs } from '@senseflow/core';
import { connect, serve } from '@senseflow/net';
import { openTestPattern } from '@senseflow/source-video';
import { openTone } from '@senseflow/source-audio';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string' },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '480' },
    fps: { type: 'string', default: '30' },
    format: { type: 'string', default: 'rgb24' },
    stream: { type: 'string', default: 'cam' },
    video: { type: 'string', default: 'raw' },
    seconds: { type: 'string', default: '5' },
  },
});
const [mode, url] = positionals;

if (mode === 'serve') {
  const cam = await openTestPattern({ width: Number(values.width), height: Number(values.height), fps: Number(values.fps), pixelFormat: values.format });
  const mic = await openTone({ rate: 48000, channels: 2, frequency: 440 });
  const server = await serve({ sources: { cam, mic }, port: Number(values.port), host: values.host, token: values.token });
  console.log(JSON.stringify({ port: server.address.port, url: server.url }));
  const stop = async () => {
    await server.close();
    await cam.close();
    await mic.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
} else if (mode === 'view' && url) {
  const src = await connect(url, { token: values.token, stream: values.stream, video: values.video });
  let items = 0;
  let worst = 0;
  let lastSeq = null;
  let outOfOrder = 0;
  const sub = src.frames$.subscribe((item) => {
    items++;
    worst = Math.max(worst, Number(monotonicNs() - item.captureNs) / 1e6);
    if (lastSeq !== null && item.seq <= lastSeq) outOfOrder++;
    lastSeq = item.seq;
  });
  const stats = src.stats$.subscribe((s) =>
    console.log(JSON.stringify({ stream: values.stream, kind: src.kind, rate: +s.rate.toFixed(1), latencyMs: s.latencyMs, drops: s.drops, lastSeq: String(lastSeq) })),
  );
  await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
  sub.unsubscribe();
  stats.unsubscribe();
  console.log(JSON.stringify({ summary: true, items, outOfOrder, worstLatencyMs: +worst.toFixed(2), drops: src.drops(), spec: src.spec }));
  await src.close();
} else if (mode === 'view-all' && url) {
  const sources = await connect(url, { token: values.token, video: values.video });
  const last = {};
  const subs = Object.entries(sources).map(([name, src]) => src.stats$.subscribe((s) => (last[name] = s)));
  await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
  for (const s of subs) s.unsubscribe();
  for (const [name, src] of Object.entries(sources)) {
    const s = last[name];
    console.log(JSON.stringify({ stream: name, kind: src.kind, items: s?.items ?? 0, rate: s ? +s.rate.toFixed(1) : 0, network: src.drops().network, bytesReceived: src.bytesReceived }));
  }
  await Promise.all(Object.values(sources).map((s) => s.close()));
} else {
  console.error('usage: remote-stream.mjs serve [--port N] [--token T] | view <tcp://host:port | ws://host:port/ws> [--stream cam|mic] | view-all <url>');
  process.exit(2);
}
