// Freshness for slow and late clients, and the protocol's strict cases, against a real server on loopback.
import { spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { monotonicNs, type AudioSource, type VideoFrame, type VideoSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { openTone } from '@senseflow/source-audio';
import { Acker, connect, decodeMessage, FrameParser, jsonMessage, MsgType, NET_HEADER_BYTES, parseJson, serve, writeHeader, type AckCadence, type Message, type NetServer, type RemoteSource } from '@senseflow/net';
import { sleep, tcpClient, until } from './helpers.js';

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

  it('clients reading at 640 KB/s: an acking one (TCP and WebSocket) never receives video older than maxAgeMs; a non-acking one still works, loses audio as GAPs, and gets STATS', async () => {
    // Raw 320×240 rgb24 at 30 fps plus 48 kHz stereo: 7 MB/s offered, ten times what these readers take.
    // Three readers at once on one server (one slow client never affects another): each sees its own pipe.
    const big = (await openTestPattern({ width: 320, height: 240, fps: 30, pixelFormat: 'rgb24' })) as VideoSource;
    const heavy = await serve({ sources: { cam: big, mic }, port: 0, dashboard: false, statsIntervalMs: 500 });
    try {
      const runs = await Promise.all([
        slowReader(heavy.address.port, 'tcp', true),
        slowReader(heavy.address.port, 'ws', true),
        slowReader(heavy.address.port, 'tcp', false),
      ]);
      for (const r of runs) {
        const videos = r.got.filter((m) => m.type === MsgType.VIDEO);
        const late = videos.filter((v) => v.at > WARM_UP_MS);
        console.log(`640 KB/s ${r.label}:`, JSON.stringify({ videos: videos.length, stats: r.stats, gaps: r.gaps, flow: r.flow, ages: late.map((v) => Math.round(v.ageMs)) }));
        expect(late.length, r.label).toBeGreaterThan(5);
        // 30 STATS are sent at 500 ms over 15 s to every client, backed up or not; the last few may still be in flight.
        expect(r.stats, r.label).toBeGreaterThanOrEqual(8);
        if (r.ack) {
          // The bound: after the warm-up (the drain rate is being measured), every frame arrives within maxAgeMs.
          expect(Math.max(...late.map((v) => v.ageMs)), r.label).toBeLessThanOrEqual(1000);
          expect(r.flow, r.label).toMatchObject({ acks: expect.any(Number) });
          expect((r.flow as { acks: number }).acks, r.label).toBeGreaterThan(10);
        } else {
          expect(r.flow, r.label).toBeNull(); // fed as before: the server's own limits only
          expect(r.gaps, r.label).toBeGreaterThan(0); // audio that could not be sent in time is dropped and reported
        }
      }
    } finally {
      await heavy.close();
      await big.close();
    }
  });

  it('a fast acking client is not throttled: connect() (which acks) is sent as many raw 720p frames as a non-acking one', async () => {
    // 1280×720 rgb24 (2.7 MB a frame) at 60 fps: 166 MB/s to each of two clients, measured in frames, not time.
    const hd = (await openTestPattern({ width: 1280, height: 720, fps: 60, pixelFormat: 'rgb24' })) as VideoSource;
    const srv = await serve({ sources: { cam: hd }, port: 0, dashboard: false });
    const url = `tcp://127.0.0.1:${srv.address.port}`;
    const acking = (await connect(url, { stream: 'cam' })) as RemoteSource<VideoFrame>;
    const plain = (await connect(url, { stream: 'cam', ack: false })) as RemoteSource<VideoFrame>;
    try {
      const from = hd.latest()?.seq ?? 0n;
      await until(() => (hd.latest()?.seq ?? 0n) >= from + 180n, 30_000, '180 source frames');
      const clients = (await srv.clientStats()) as { flow: { acks: number; windowBytes: number } | null; streams: { cam: { sent: number } } }[];
      const a = clients.find((c) => c.flow)!;
      const p = clients.find((c) => !c.flow)!;
      console.log('fast clients:', JSON.stringify({ acking: { sent: a.streams.cam.sent, flow: a.flow }, nonAcking: { sent: p.streams.cam.sent } }));
      expect(a.flow!.acks).toBeGreaterThan(0); // connect()'s receive worker does ack
      expect(a.flow!.windowBytes).toBeGreaterThan(2 * 1280 * 720 * 3); // the window grew well past one frame
      expect(a.streams.cam.sent).toBeGreaterThanOrEqual(Math.floor(0.9 * p.streams.cam.sent));
      expect(a.streams.cam.sent).toBeGreaterThan(100);
    } finally {
      await acking.close();
      await plain.close();
      await srv.close();
      await hd.close();
    }
  });
});

/** What a 640 KB/s reader saw: messages with their age at receipt and time since it connected (ms). */
interface SlowRun {
  label: string;
  ack: boolean;
  got: { type: number; ageMs: number; at: number }[];
  stats: number;
  gaps: number;
  flow: unknown;
}
const WARM_UP_MS = 4000;
const READ_MS = 15_000;
const RATE = 640 * 1024;

/**
 * Reads raw video + audio from `port` at 640 KB/s for 15 s (in 10 ms slices, like a slow link), over raw
 * TCP or WebSocket, acknowledging what it consumed (the library's Acker, at the server's cadence) when `ack`.
 */
async function slowReader(port: number, transport: 'tcp' | 'ws', ack: boolean): Promise<SlowRun> {
  const label = `${transport}${ack ? ' acking' : ' non-acking'}`;
  const got: SlowRun['got'] = [];
  let read = 0;
  let acker: Acker | null = null;
  let flow: unknown = null;
  let send!: (m: Uint8Array) => void;
  const t0 = performance.now();
  const onMessage = (m: Message) => {
    got.push({ type: m.type, ageMs: Number(monotonicNs() - m.captureNs) / 1e6, at: performance.now() - t0 });
    if (m.type === MsgType.STREAMS) {
      const body = parseJson(m);
      if (ack) {
        expect(body.ack, label).toMatchObject({ intervalMs: expect.any(Number), bytes: expect.any(Number) });
        acker = new Acker(send, body.ack as AckCadence);
        acker.consume(read); // the bytes before this message count too (this one is counted right after)
      } else expect(body.ack, label).toBeUndefined();
    }
    if (m.type === MsgType.STATS) flow = (parseJson(m).connection as { flow: unknown }).flow;
  };
  const consumed = (n: number) => {
    read += n;
    if (acker) acker.consume(n);
  };
  const allowed = () => ((performance.now() - t0) / 1000) * RATE;
  let pace: NodeJS.Timeout;
  let close: () => void;
  if (transport === 'tcp') {
    const s = tcpConnect({ host: '127.0.0.1', port });
    await new Promise((r) => s.once('connect', r));
    send = (m) => void s.write(m);
    s.write(jsonMessage(MsgType.HELLO, { video: 'raw', ack }));
    s.pause();
    const p = new FrameParser(64 * 1024 * 1024);
    pace = setInterval(() => {
      while (read < allowed()) {
        const chunk = (s.read(Math.min(16 * 1024, Math.ceil(allowed() - read))) ?? s.read()) as Buffer | null;
        if (!chunk) break;
        p.push(chunk).forEach(onMessage);
        consumed(chunk.length);
      }
    }, 10);
    close = () => s.destroy();
  } else {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise((r) => ws.once('open', r));
    send = (m) => ws.send(m);
    ws.send(jsonMessage(MsgType.HELLO, { video: 'raw', ack }));
    let paused = false;
    ws.on('message', (d: Buffer) => {
      onMessage(decodeMessage(d, 64 * 1024 * 1024));
      consumed(d.length);
      if (!paused && read >= allowed()) {
        paused = true;
        ws.pause(); // stops reading the socket: the rest waits in kernel and server buffers
      }
    });
    pace = setInterval(() => {
      if (paused && read < allowed()) {
        paused = false;
        ws.resume();
      }
    }, 10);
    close = () => ws.terminate();
  }
  await sleep(READ_MS);
  clearInterval(pace);
  (acker as Acker | null)?.stop();
  close();
  return { label, ack, got, flow, stats: got.filter((m) => m.type === MsgType.STATS).length, gaps: got.filter((m) => m.type === MsgType.GAP).length };
}

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

  it('a malformed, unasked-for, oversized or backwards ACK is a protocol ERROR', async () => {
    const hello = (ack: unknown) => Buffer.from(jsonMessage(MsgType.HELLO, { ack }));
    const ack = (n: bigint, over: { stream?: number; payloadBytes?: number } = {}) => {
      const b = Buffer.alloc(NET_HEADER_BYTES + (over.payloadBytes ?? 0));
      writeHeader(b, { type: MsgType.ACK, seq: n, stream: over.stream ?? 0, payloadBytes: over.payloadBytes ?? 0 });
      return b;
    };
    // STREAMS alone is well over 56 bytes, so an ACK of 56 is valid here; the next one goes back.
    const cases: [Buffer[], RegExp][] = [
      [[hello(true), ack(56n), ack(10n)], /goes backwards/],
      [[hello(true), ack(1n << 40n)], /only \d+ were sent/],
      [[hello(true), ack(2n ** 64n - 1n)], /only \d+ were sent/],
      [[hello(true), ack(0n, { payloadBytes: 8 })], /no payload and stream id 0/],
      [[hello(true), ack(0n, { stream: 1 })], /no payload and stream id 0/],
      [[hello(false), ack(0n)], /did not ask for flow control/],
      [[Buffer.from(jsonMessage(MsgType.HELLO, {})), ack(0n)], /did not ask for flow control/],
      [[hello('yes')], /`ack` must be true or false/],
      [[ack(0n)], /expected HELLO first/],
    ];
    for (const [bytes, why] of cases) {
      const e = errorOf(await exchange(bytes));
      expect(e.code).toBe('protocol');
      expect(e.message).toMatch(why);
    }
    // A valid ACK is accepted: the connection keeps streaming (STREAMS says how to ack).
    const ok = await tcpClient(server.address.port, { ack: true });
    const streams = JSON.parse(Buffer.from((await ok.next(MsgType.STREAMS)).payload).toString()) as { ack: { intervalMs: number; bytes: number } };
    expect(streams.ack).toEqual({ intervalMs: expect.any(Number), bytes: expect.any(Number) });
    ok.socket.write(ack(56n));
    await ok.next(MsgType.VIDEO);
    expect(ok.json(MsgType.ERROR)).toEqual([]);
    ok.socket.destroy();
  });

  it('flow-control options are validated: serve `flowControl` and connect `ack` take booleans (typed errors naming them)', async () => {
    await expect(serve({ sources: { cam }, port: 0, dashboard: false, flowControl: 'yes' as unknown as boolean })).rejects.toMatchObject({ name: 'InvalidOptionError', message: expect.stringMatching(/flowControl/) });
    await expect(connect(`tcp://127.0.0.1:${server.address.port}`, { ack: 1 as unknown as boolean })).rejects.toMatchObject({ name: 'InvalidOptionError', message: expect.stringMatching(/\back\b/) });
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

describe('senseflow serve: flow control on by default, --no-flow-control turns it off', { timeout: 60_000 }, () => {
  const BIN = new URL('../../cli/dist/bin.js', import.meta.url).pathname;
  for (const off of [false, true]) {
    it(off ? 'with --no-flow-control a client asking for ack is fed as a non-acking one' : 'STREAMS offers the ACK cadence to a client that asks', async () => {
      const child = spawn(process.execPath, [BIN, 'serve', '--video', 'test', '--size', '160x120', '--port', '0', '--duration', '20', ...(off ? ['--no-flow-control'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let out = '';
        const port = await new Promise<number>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no tcp:// line: ${out}`)), 30_000);
          child.stdout.on('data', (b) => {
            out += b;
            const m = /tcp:\/\/[^\s:]+:(\d+)/.exec(out);
            if (m) clearTimeout(t), resolve(Number(m[1]));
          });
          child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
        });
        const c = await tcpClient(port, { ack: true, streams: ['video'] });
        const streams = JSON.parse(Buffer.from((await c.next(MsgType.STREAMS)).payload).toString()) as { ack?: unknown };
        if (off) expect(streams.ack).toBeUndefined();
        else expect(streams.ack).toMatchObject({ intervalMs: expect.any(Number), bytes: expect.any(Number) });
        await c.next(MsgType.VIDEO);
        c.socket.destroy();
      } finally {
        child.kill('SIGINT');
      }
    });
  }
});
