import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import jpeg from 'jpeg-js';
import { InvalidOptionError, type AudioSource, type VideoSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { openTone } from '@senseflow/source-audio';
import { decodeMessage, jsonMessage, MsgType, NET_HEADER_BYTES, serve, writeHeader, type NetServer } from '@senseflow/net';
import { decodePattern, makeBarsRow, patternGeometry, renderPattern, sleep, tcpClient, until } from './helpers.js';

const W = 320;
const H = 240;
const g = patternGeometry(W, H, 'rgb24');

describe('network sink (loopback)', () => {
  let cam: VideoSource;
  let mic: AudioSource;
  let server: NetServer;

  beforeAll(async () => {
    cam = await openTestPattern({ width: W, height: H, fps: 30, pixelFormat: 'rgb24' });
    mic = await openTone({ rate: 48000, channels: 1 });
    server = await serve({ sources: { cam, mic }, port: 0, queueBytes: 64 * 1024, highWaterBytes: 256 * 1024, helloTimeoutMs: 500 });
  });
  afterAll(async () => {
    await server?.close();
    await cam?.close();
    await mic?.close();
  });

  it('binds loopback by default and refuses other addresses without a token', async () => {
    expect(server.address.host).toBe('127.0.0.1');
    await expect(serve({ sources: { cam }, port: 0, host: '0.0.0.0' })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('TCP: lists streams, then raw frames whose pixels carry the same seq and captureNs as the header', async () => {
    const c = await tcpClient(server.address.port, { streams: ['cam'], video: 'raw' });
    const streams = (await c.next(MsgType.STREAMS)).payload.toString();
    expect(JSON.parse(streams).streams[0]).toMatchObject({ name: 'cam', kind: 'video', encoding: 'raw', spec: { width: W, height: H, pixelFormat: 'rgb24' } });
    await until(() => c.messages.filter((m) => m.type === MsgType.VIDEO).length >= 10, 10_000, '10 frames');
    const frames = c.messages.filter((m) => m.type === MsgType.VIDEO);
    for (const f of frames) {
      expect([f.f0, f.f1, f.f2, f.payload.length]).toEqual([W, H, W * 3, W * H * 3]);
      expect(decodePattern(f.payload, g)).toEqual({ seq: f.seq, captureNs: f.captureNs });
    }
    for (let i = 1; i < frames.length; i++) expect(frames[i].seq).toBeGreaterThan(frames[i - 1].seq);
    c.socket.destroy();
  });

  it('WebSocket: JPEG frames decode back to the pattern (seq and capture time survive compression)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.address.port}/ws`);
    const got: ReturnType<typeof decodeMessage>[] = [];
    ws.on('message', (d: Buffer) => got.push(decodeMessage(Buffer.from(d), 1 << 26)));
    await new Promise((r) => ws.once('open', r));
    ws.send(jsonMessage(MsgType.HELLO, { streams: ['cam'], video: 'jpeg' }));
    await until(() => got.filter((m) => m.type === MsgType.VIDEO).length >= 5, 10_000, '5 JPEG frames');
    for (const f of got.filter((m) => m.type === MsgType.VIDEO)) {
      expect([f.payload[0], f.payload[1]]).toEqual([0xff, 0xd8]);
      const img = jpeg.decode(f.payload, { useTArray: true });
      expect([img.width, img.height]).toEqual([W, H]);
      expect(decodePattern(img.data, patternGeometry(W, H, 'rgba'))).toEqual({ seq: f.seq, captureNs: f.captureNs });
    }
    ws.close();
  });

  it('YUYV and BGR sources are converted for JPEG and still decode to the pattern', async () => {
    for (const pixelFormat of ['yuyv', 'bgr24'] as const) {
      const src = await openTestPattern({ width: W, height: H, fps: 30, pixelFormat });
      const s = await serve({ sources: { src }, port: 0, dashboard: false });
      try {
        const c = await tcpClient(s.address.port, { video: 'jpeg' });
        await until(() => c.messages.filter((m) => m.type === MsgType.VIDEO).length >= 3, 10_000, `3 JPEG frames from ${pixelFormat}`);
        for (const f of c.messages.filter((m) => m.type === MsgType.VIDEO)) {
          const img = jpeg.decode(f.payload, { useTArray: true });
          expect(decodePattern(img.data, patternGeometry(W, H, 'rgba'))).toEqual({ seq: f.seq, captureNs: f.captureNs });
          // Colours survive (channel order included): compare with the pattern rendered as RGB, with JPEG's tolerance.
          const rgb = new Uint8Array(W * H * 3);
          renderPattern(rgb, g, makeBarsRow(g), f.seq, f.captureNs);
          let err = 0;
          for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) err += Math.abs(rgb[i] - img.data[j]) + Math.abs(rgb[i + 1] - img.data[j + 1]) + Math.abs(rgb[i + 2] - img.data[j + 2]);
          // (a swapped R/B would be ~90; JPEG plus YUYV chroma subsampling stays well under 30)
          expect(err / rgb.length, pixelFormat).toBeLessThan(30);
        }
        c.socket.destroy();
      } finally {
        await s.close();
        await src.close();
      }
    }
  });

  it('audio is continuous: chunks follow each other frame for frame', async () => {
    const c = await tcpClient(server.address.port, { streams: ['mic'] });
    await until(() => c.messages.filter((m) => m.type === MsgType.AUDIO).length >= 20, 10_000, '20 audio chunks');
    const chunks = c.messages.filter((m) => m.type === MsgType.AUDIO);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i].aux).toBe(chunks[i - 1].aux + BigInt(chunks[i - 1].f0));
      expect(chunks[i].payload.length).toBe(chunks[i].f0 * 2);
    }
    expect([chunks[0].f1, chunks[0].f2, chunks[0].f3]).toEqual([1, 48000, 1]);
    c.socket.destroy();
  });

  it('a stalled client loses frames (counted, told its audio gap) while another keeps streaming; server memory stays bounded', async () => {
    const slow = await tcpClient(server.address.port, { video: 'raw' });
    const fast = await tcpClient(server.address.port, { video: 'raw' });
    await slow.next(MsgType.VIDEO);
    slow.socket.pause(); // stop reading: its kernel buffers fill, then its server-side queue does
    const before = fast.messages.filter((m) => m.type === MsgType.VIDEO).length;
    let maxQueued = 0;
    for (let i = 0; i < 40; i++) {
      await sleep(50);
      maxQueued = Math.max(maxQueued, await server.queuedBytes());
    }
    const during = fast.messages.filter((m) => m.type === MsgType.VIDEO);
    expect(during.length - before).toBeGreaterThanOrEqual(20); // 2 s at 30 fps: the fast client was not held up
    // Bound: per client, high water + one message + the continuous queues (2 clients here plus leftovers).
    const perClient = 256 * 1024 + W * H * 3 + NET_HEADER_BYTES + 2 * 64 * 1024;
    expect(maxQueued).toBeLessThanOrEqual(4 * perClient);
    slow.socket.resume();
    const gap = await slow.next(MsgType.GAP);
    const body = JSON.parse(gap.payload.toString());
    expect(body).toMatchObject({ unit: 'frames', cause: 'slow-client' });
    expect(body.lost).toBeGreaterThan(0);
    // Video is latest-wins: after the stall it gets the newest frame, and the skipped ones are counted.
    const port = String(slow.socket.localPort);
    const slowCam = async () => ((await server.clientStats()).find((s) => String(s.remote).endsWith(`:${port}`))!.streams as Record<string, { dropped: number }>).cam;
    for (let i = 0; i < 200 && !((await slowCam()).dropped > 0); i++) await sleep(50);
    expect((await slowCam()).dropped).toBeGreaterThan(0); // counted video drops for the slow client
    const vids = slow.messages.filter((m) => m.type === MsgType.VIDEO);
    expect(vids.length).toBeLessThan(during.length);
    slow.socket.destroy();
    fast.socket.destroy();
  });

  it('rejects a wrong token, garbage and oversize messages on that connection only', async () => {
    const guarded = await serve({ sources: { cam }, port: 0, token: 's3cret', maxMessageBytes: 1024 });
    try {
      const port = guarded.address.port;
      const good = await tcpClient(port, { token: 's3cret', video: 'raw' });
      await good.next(MsgType.VIDEO);

      const bad = await tcpClient(port, { token: 'nope' });
      await bad.closed;
      expect(bad.json(MsgType.ERROR)[0]).toMatchObject({ code: 'unauthorized' });
      expect(bad.messages.some((m) => m.type === MsgType.VIDEO)).toBe(false);

      const none = await tcpClient(port, {});
      await none.closed;
      expect(none.json(MsgType.ERROR)[0]).toMatchObject({ code: 'unauthorized' });

      const garbage = await tcpClient(port, null);
      garbage.socket.write(Buffer.concat([Buffer.from('SFN1'), Buffer.alloc(200, 0xab)]));
      await garbage.closed;
      expect(garbage.json(MsgType.ERROR)[0]).toMatchObject({ code: 'protocol' });

      const huge = await tcpClient(port, null);
      const h = Buffer.alloc(NET_HEADER_BYTES);
      writeHeader(h, { type: MsgType.HELLO, payloadBytes: 1 << 30 });
      huge.socket.write(h); // announces 1 GiB, sends nothing more: closed from the header alone
      await huge.closed;
      expect(huge.json(MsgType.ERROR)[0].message).toMatch(/exceeds the limit/);

      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise((r) => ws.once('open', r));
      const wsClosed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.send('hello as text');
      expect(await wsClosed).toBeGreaterThan(0);

      // The good client was not disturbed.
      const n = good.messages.filter((m) => m.type === MsgType.VIDEO).length;
      await until(() => good.messages.filter((m) => m.type === MsgType.VIDEO).length > n + 5, 10_000, 'more frames for the good client');
      expect(await guarded.rejected()).toMatchObject({ unauthorized: 2, protocol: 3 });
      good.socket.destroy();
    } finally {
      await guarded.close();
    }
  });

  it('limits clients and closes idle ones', async () => {
    const small = await serve({ sources: { cam }, port: 0, maxClients: 1, idleTimeoutMs: 600, dashboard: false });
    try {
      const first = await tcpClient(small.address.port, { video: 'jpeg' });
      await first.next(MsgType.STREAMS);
      const second = await tcpClient(small.address.port, {});
      await second.closed;
      expect(second.json(MsgType.ERROR)[0]).toMatchObject({ code: 'too-many-clients' });
      // `first` never sends PING: closed as idle, with a reason.
      await first.closed;
      expect(first.json(MsgType.ERROR).at(-1)).toMatchObject({ code: 'idle' });
      expect(await small.rejected()).toMatchObject({ 'too-many-clients': 1, idle: 1 });
    } finally {
      await small.close();
    }
  });

  it('closes a connection that never says HELLO', async () => {
    const silent = await tcpClient(server.address.port, null);
    silent.socket.write(Buffer.from('SFN1'));
    await silent.closed;
    expect((await server.rejected())['hello-timeout']).toBeGreaterThanOrEqual(1);
  });

  it('serves the dashboard page over HTTP on the same port', async () => {
    const res = await fetch(`http://127.0.0.1:${server.address.port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<title>senseflow/);
    expect((await fetch(`http://127.0.0.1:${server.address.port}/../../package.json`)).status).toBe(404);
  });
});
