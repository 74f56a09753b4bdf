// Freshness for slow and late clients, and the protocol's strict cases, against a real server on loopback.
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { monotonicNs, type AudioSource, type VideoSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { openTone } from '@senseflow/source-audio';
import { decodeMessage, FrameParser, jsonMessage, MsgType, NET_HEADER_BYTES, serve, writeHeader, type Message, type NetServer } from '@senseflow/net';
import { sleep, tcpClient } from './helpers.js';

describe('freshness', () => {
  let cam: VideoSource;
  let mic: AudioSource;
  let server: NetServer;
  beforeAll(async () => {
    cam = (await openTestPattern({ width: 640, height: 480, fps: 30, pixelFormat: 'rgb24' })) as VideoSource;
    mic = (await openTone({ rate: 48000, channels: 2 })) as AudioSource;
    server = await serve({ sources: { cam, mic }, port: 0, dashboard: false, statsIntervalMs: 500 });
  });
  afterAll(async () => {
    await server?.close();
    await cam?.close();
    await mic?.close();
  });

  it('a new JPEG client never gets a frame older than the firstSeq it was announced (no JPEG left from an earlier client)', async () => {
    // An earlier JPEG client makes the server encode; it leaves; time passes; a new one arrives.
    const early = await tcpClient(server.address.port, { video: 'jpeg', streams: ['cam'] });
    await early.next(MsgType.VIDEO);
    early.socket.destroy();
    for (let round = 0; round < 5; round++) {
      await sleep(400);
      const c = await tcpClient(server.address.port, { video: 'jpeg', streams: ['cam'] });
      const streams = JSON.parse(Buffer.from((await c.next(MsgType.STREAMS)).payload).toString());
      const firstSeq = BigInt(streams.streams[0].firstSeq);
      const v = await c.next(MsgType.VIDEO);
      expect(v.seq).toBeGreaterThanOrEqual(firstSeq);
      c.socket.destroy();
    }
  });

  it('a client reading at 640 KB/s: its audio that cannot be sent in time is dropped and reported as a GAP, and STATS keep coming', async () => {
    // Raw 320×240 rgb24 at 30 fps plus 48 kHz stereo: 7 MB/s offered, ten times what this reader takes.
    const big = (await openTestPattern({ width: 320, height: 240, fps: 30, pixelFormat: 'rgb24' })) as VideoSource;
    const heavy = await serve({ sources: { cam: big, mic }, port: 0, dashboard: false, statsIntervalMs: 500 });
    const s = tcpConnect({ host: '127.0.0.1', port: heavy.address.port });
    await new Promise((r) => s.once('connect', r));
    s.write(jsonMessage(MsgType.HELLO, { video: 'raw' }));
    s.pause();
    const p = new FrameParser(64 * 1024 * 1024);
    const got: { type: number; ageMs: number; at: number }[] = [];
    let read = 0;
    const t0 = performance.now();
    // Read at 640 KB/s in 10 ms slices (a slow link): the rest waits in kernel and server buffers.
    const reader = setInterval(() => {
      const allowed = ((performance.now() - t0) / 1000) * 640 * 1024;
      while (read < allowed) {
        const chunk = (s.read(Math.min(16 * 1024, Math.ceil(allowed - read))) ?? s.read()) as Buffer | null;
        if (!chunk) break;
        read += chunk.length;
        for (const m of p.push(chunk)) got.push({ type: m.type, ageMs: Number(monotonicNs() - m.captureNs) / 1e6, at: performance.now() - t0 });
      }
    }, 10);
    await sleep(15_000);
    clearInterval(reader);
    const client = (await heavy.clientStats())[0];
    s.destroy();
    await heavy.close();
    await big.close();
    const videos = got.filter((m) => m.type === MsgType.VIDEO);
    const stats = got.filter((m) => m.type === MsgType.STATS);
    const gaps = got.filter((m) => m.type === MsgType.GAP).length;
    console.log('640 KB/s client:', JSON.stringify({ videos: videos.length, stats: stats.length, gaps, client, ages: videos.filter((v) => v.at > 5000).map((v) => Math.round(v.ageMs)) }));
    expect(videos.length).toBeGreaterThan(10);
    // Known limit (docs/network.md): frame ages here still reach several seconds — the kernel's socket buffers
    // (autotuned, ~4 MB on loopback) and the server's socket backlog sit between the server and this reader.
    expect(client).toBeDefined();
    expect(gaps).toBeGreaterThan(0); // audio that could not be sent in time is dropped and reported
    // 30 sent at 500 ms over 15 s to a backed-up client (before: skipped while backed up, 7 in 25 s); the last few
    // are still in the socket buffers when the test stops.
    expect(stats.length).toBeGreaterThanOrEqual(8);
  });
});

describe('protocol strictness', () => {
  let cam: VideoSource;
  let server: NetServer;
  beforeAll(async () => {
    cam = (await openTestPattern({ width: 64, height: 48, fps: 10 })) as VideoSource;
    server = await serve({ sources: { cam }, port: 0, dashboard: false });
  });
  afterAll(async () => {
    await server?.close();
    await cam?.close();
  });

  /** Sends raw bytes on a fresh TCP connection; resolves with what the server sent before closing. */
  const exchange = (bytes: Buffer[]) =>
    new Promise<Message[]>((resolve) => {
      const s = tcpConnect({ host: '127.0.0.1', port: server.address.port });
      const p = new FrameParser(1 << 20);
      const out: Message[] = [];
      s.on('connect', () => bytes.forEach((b) => s.write(b)));
      s.on('data', (c) => {
        try {
          out.push(...p.push(c).map((m) => ({ ...m, payload: Buffer.from(m.payload) })));
        } catch {
          /* not our framing (e.g. an HTTP answer) */
        }
      });
      s.on('error', () => {});
      s.on('close', () => resolve(out));
    });
  const errorOf = (ms: Message[]) => JSON.parse(Buffer.from(ms.find((m) => m.type === MsgType.ERROR)!.payload).toString()) as { code: string; message: string };

  it('bad magic gets the documented ERROR', async () => {
    const ms = await exchange([Buffer.from('SFN2'), Buffer.alloc(52)]);
    expect(errorOf(ms).code).toBe('bad-magic');
  });

  it('a PING with a payload and a HELLO with a stream id are protocol errors', async () => {
    const ping = Buffer.alloc(NET_HEADER_BYTES + 2);
    writeHeader(ping, { type: MsgType.PING, payloadBytes: 2 });
    const ms = await exchange([Buffer.from(jsonMessage(MsgType.HELLO, {})), ping]);
    expect(errorOf(ms).code).toBe('protocol');
    const hello = Buffer.from(jsonMessage(MsgType.HELLO, {}, 3));
    expect(errorOf(await exchange([hello])).message).toMatch(/stream id must be 0/);
  });

  it('an empty `streams` list is a protocol error', async () => {
    expect(errorOf(await exchange([Buffer.from(jsonMessage(MsgType.HELLO, { streams: [] }))])).message).toMatch(/non-empty list/);
  });

  it('no HELLO in time: ERROR hello-timeout', async () => {
    const quick = await serve({ sources: { cam }, port: 0, dashboard: false, helloTimeoutMs: 300 });
    try {
      const c = await tcpClient(quick.address.port, null);
      c.socket.write(Buffer.from('SFN1'));
      await c.closed;
      expect(c.json(MsgType.ERROR)[0]).toMatchObject({ code: 'hello-timeout' });
    } finally {
      await quick.close();
    }
  });

  it('WebSocket: the version-8 handshake is refused; an oversize message gets a protocol ERROR before the close', async () => {
    const old = new WebSocket(`ws://127.0.0.1:${server.address.port}/ws`, { protocolVersion: 8 });
    const status = await new Promise<number>((r) => old.on('unexpected-response', (_q, res) => r(res.statusCode ?? 0)).on('error', () => r(-1)));
    expect(status).toBe(426);
    const ws = new WebSocket(`ws://127.0.0.1:${server.address.port}/ws`);
    const msgs: Message[] = [];
    ws.on('message', (d: Buffer) => msgs.push(decodeMessage(d, 1 << 20)));
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(Buffer.alloc(1024 * 1024)); // far over the 64 KiB limit
    await closed;
    const err = msgs.find((m) => m.type === MsgType.ERROR);
    expect(err && JSON.parse(Buffer.from(err.payload).toString()).code).toBe('too-large');
  });
});
