#!/usr/bin/env node
// Fresh video on a slow link: a client that reads far slower than the stream still sees frames at most
// `maxAgeMs` old, because it acknowledges what it consumed (flow control, docs/protocol.md "Flow control").
// connect() and the dashboard do this for you; this example is a bare protocol client (the shared codec's
// FrameParser and Acker) so you can see the few lines a client in any language needs.
//
//   node examples/slow-link.mjs [--rate 655360] [--seconds 10] [--no-ack]
//
// It serves raw 320×240 rgb24 video at 30 fps (7 MB/s) in this process, reads it over TCP at --rate bytes/s
// and prints one JSON line per second (frames received, their age on arrival), then a summary line.
import { connect as tcpConnect } from 'node:net';
import { parseArgs } from 'node:util';
import { monotonicNs } from '@senseflow/core';
import { Acker, FrameParser, jsonMessage, MsgType, parseJson, serve } from '@senseflow/net';
import { openTestPattern } from '@senseflow/source-video';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '655360' }, seconds: { type: 'string', default: '10' }, 'no-ack': { type: 'boolean', default: false } } });
const rate = Number(values.rate);
const ack = !values['no-ack'];

const cam = await openTestPattern({ width: 320, height: 240, fps: 30, pixelFormat: 'rgb24' });
const server = await serve({ sources: { cam }, port: 0, dashboard: false });

const socket = tcpConnect({ host: '127.0.0.1', port: server.address.port });
await new Promise((r) => socket.once('connect', r));
socket.write(jsonMessage(MsgType.HELLO, { video: 'raw', ack }));
socket.pause(); // we pull bytes at `rate`: the rest waits in the kernel's buffers, as on a slow link

const parser = new FrameParser(64 * 1024 * 1024);
let acker = null;
let read = 0;
let ages = [];
const all = [];
const t0 = performance.now();
const pace = setInterval(() => {
  const allowed = ((performance.now() - t0) / 1000) * rate;
  while (read < allowed) {
    const chunk = socket.read(Math.min(16 * 1024, Math.ceil(allowed - read))) ?? socket.read();
    if (!chunk) break;
    for (const m of parser.push(chunk)) {
      if (m.type === MsgType.STREAMS) {
        const body = parseJson(m);
        // The server agreed: acknowledge at its cadence, counting every byte since the connection opened.
        if (body.ack) (acker = new Acker((a) => socket.write(a), body.ack)).consume(read);
      } else if (m.type === MsgType.VIDEO) ages.push(Number(monotonicNs() - m.captureNs) / 1e6);
    }
    read += chunk.length;
    acker?.consume(chunk.length);
  }
}, 10);

const report = setInterval(() => {
  const t = Math.round((performance.now() - t0) / 1000);
  console.log(JSON.stringify({ t, frames: ages.length, maxAgeMs: Math.round(Math.max(0, ...ages)) }));
  all.push({ t, ages });
  ages = [];
}, 1000);

setTimeout(async () => {
  clearInterval(pace);
  clearInterval(report);
  const [client] = await server.clientStats(); // what the server measured for this connection
  acker?.stop();
  socket.destroy();
  // After a few seconds of warm-up (the server measures this client's drain rate from its ACKs).
  const late = all.filter((s) => s.t > 4).flatMap((s) => s.ages);
  console.log(JSON.stringify({ summary: true, ack, rate, frames: late.length, maxAgeMs: Math.round(Math.max(0, ...late)), flow: client?.flow ?? null }));
  await server.close();
  await cam.close();
}, Number(values.seconds) * 1000);
