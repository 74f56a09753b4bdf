// The ffmpeg video source end to end, against real ffmpeg processes and no hardware: a generated MP4 file,
// an HTTP MJPEG stream served from this process (also killed and restarted: disconnect/reconnect), an
// Xvfb screen painted a known colour, and failures (missing file, refused connection, missing binary).
// Run: pnpm --filter @senseflow/core --filter @senseflow/source-video build
//      pnpm vitest run --project userspace packages/source-video/test/ffmpeg.userspace.test.ts
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemFlags, SenseflowError, type SourceEvent, type VideoFrame, type VideoSource } from '@senseflow/core';
import { runSourceConformance } from '@senseflow/core/testing';
import { openFfmpeg } from '@senseflow/source-video';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missingFfmpeg = has('ffmpeg') && has('ffprobe') ? '' : 'ffmpeg/ffprobe not installed (apt-get install ffmpeg)';
const missingX = has('Xvfb') && has('xsetroot') ? '' : 'Xvfb/xsetroot not installed (apt-get install xvfb x11-xserver-utils)';
if (missingFfmpeg && process.env.CI) throw new Error(missingFfmpeg);
if (missingX && process.env.CI) throw new Error(missingX);

const W = 320;
const H = 240;
const work = mkdtempSync(join(tmpdir(), 'senseflow-ffmpeg-test-'));
const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { maxBuffer: 512 * 1024 * 1024 });
const opened: VideoSource[] = [];
async function open(options: Parameters<typeof openFfmpeg>[0], autoStart = false): Promise<VideoSource> {
  const src = await openFfmpeg(options, { autoStart });
  opened.push(src);
  return src;
}
afterAll(async () => {
  for (const s of opened) await s.close({ force: true }).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

/** ffmpeg processes whose parent is this process (workers are threads of it), with their state letter. */
function ffmpegChildren(): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^(\d+) \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && m[2] === 'ffmpeg' && Number(m[4]) === process.pid) out.push({ pid: Number(m[1]), state: m[3] });
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/** The first event matching `pred` (rejects after `ms`). */
function events(src: VideoSource, pred: (e: SourceEvent) => boolean, ms = 20_000): Promise<SourceEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (sub.unsubscribe(), reject(new Error(`no matching event within ${ms} ms`))), ms);
    const sub = src.events$.subscribe((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      sub.unsubscribe();
      resolve(e);
    });
  });
}
const custom = (name: string) => (e: SourceEvent) => e.type === 'custom' && e.name === name;

/** The next `n` frames, copied inside the callback (a frame's view is only valid there). */
function frames(src: VideoSource, n: number, ms = 20_000): Promise<VideoFrame[]> {
  return new Promise((resolve, reject) => {
    const out: VideoFrame[] = [];
    const t = setTimeout(() => (sub.unsubscribe(), reject(new Error(`got ${out.length} of ${n} frames within ${ms} ms`))), ms);
    const sub = src.frames$.subscribe({
      next: (f) => {
        out.push((f as VideoFrame).copy());
        if (out.length < n) return;
        clearTimeout(t);
        sub.unsubscribe();
        resolve(out);
      },
      error: (e) => (clearTimeout(t), reject(e)),
    });
  });
}

/** Contiguous seqs, strictly increasing capture times, receive-time stamps flagged as such. */
function expectConformant(fs: VideoFrame[]): void {
  for (let i = 1; i < fs.length; i++) {
    expect(fs[i].seq).toBe(fs[i - 1].seq + 1n);
    expect(fs[i].captureNs).toBeGreaterThan(fs[i - 1].captureNs);
  }
  for (const f of fs) {
    expect(f.flags & ItemFlags.TIMESTAMP_FALLBACK).toBe(ItemFlags.TIMESTAMP_FALLBACK);
    expect(f.receiveNs).toBeGreaterThanOrEqual(f.captureNs);
  }
}

const pixel = (f: VideoFrame, x: number, y: number) => Array.from(f.data.subarray(y * f.stride + x * 3, y * f.stride + x * 3 + 3));
const near = (got: number[], want: number[], tol: number) => got.every((v, i) => Math.abs(v - want[i]) <= tol);

// The core conformance suite on the ffmpeg backend: a file looped and paced at its 30 fps.
runSourceConformance('ffmpeg backend (looped file, 30 fps)', {
  open: () => {
    const file = join(work, 'conformance.mp4');
    if (!existsSync(file)) ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=30`, '-frames:v', '60', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', file]);
    return openFfmpeg({ input: file, loop: true, pixelFormat: 'rgb24' });
  },
  kind: 'video',
  skip: missingFfmpeg || false,
});

describe.skipIf(!!missingFfmpeg)(`ffmpeg source: files${missingFfmpeg ? ` — skipped: ${missingFfmpeg}` : ''}`, () => {
  const moving = join(work, 'testsrc2.mp4');
  const halves = join(work, 'halves.mp4');
  let reference: Buffer;
  beforeAll(() => {
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=30`, '-frames:v', '30', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-g', '10', moving]);
    // Top half red, bottom half blue, in known 8-bit colours (lossless, so only colour conversion rounds).
    ffmpeg(['-filter_complex', `color=c=0xE01010:size=${W}x${H / 2}:rate=10[a];color=c=0x1010E0:size=${W}x${H / 2}:rate=10[b];[a][b]vstack`, '-frames:v', '10', '-pix_fmt', 'yuv444p', '-c:v', 'libx264', '-qp', '0', halves]);
    // What ffmpeg itself decodes from the file: the frames the source must deliver, byte for byte.
    reference = ffmpeg(['-i', moving, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  });

  it.each(['socket', 'stdout'] as const)('delivers every frame of a file, byte-identical to ffmpeg’s own decode, then emits `ended` and leaves no process (transport %s)', async (transport) => {
    const src = await open({ input: moving, pixelFormat: 'rgb24', transport });
    expect(src.spec).toMatchObject({ kind: 'video', width: W, height: H, pixelFormat: 'rgb24', stride: W * 3, fps: 30 });
    const ended = events(src, custom('ended'));
    const got = frames(src, 30);
    await src.start();
    const fs = await got;
    const end = (await ended) as Extract<SourceEvent, { type: 'custom' }>;
    expect(end.payload).toMatchObject({ frames: 30 });
    expect(fs.map((f) => f.seq)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i)));
    const size = W * H * 3;
    for (const [i, f] of fs.entries()) {
      expect([f.width, f.height, f.data.length]).toEqual([W, H, size]);
      expect(Buffer.from(f.data).equals(reference.subarray(i * size, (i + 1) * size))).toBe(true);
    }
    expectConformant(fs);
    expect(ffmpegChildren()).toEqual([]);
  });

  it('has the file’s colours where they should be (pixel sampling), in every pixel format', async () => {
    const red = [0xe0, 0x10, 0x10];
    const blue = [0x10, 0x10, 0xe0];
    const src = await open({ input: halves, pixelFormat: 'rgb24', realtime: false });
    const [f] = await Promise.all([frames(src, 1), src.start()]).then(([fs]) => fs);
    for (const [x, y] of [[5, 5], [W / 2, H / 4], [W - 5, H / 2 - 10]]) expect(near(pixel(f, x, y), red, 6), `${x},${y}: ${pixel(f, x, y)}`).toBe(true);
    for (const [x, y] of [[5, H - 5], [W / 2, (3 * H) / 4], [W - 5, H / 2 + 10]]) expect(near(pixel(f, x, y), blue, 6), `${x},${y}: ${pixel(f, x, y)}`).toBe(true);
    // bgr24 swaps the bytes; gray8 is luma; yuyv and nv12 have the sizes and strides of their layouts.
    const bgr = await open({ input: halves, pixelFormat: 'bgr24', realtime: false });
    const [b] = await Promise.all([frames(bgr, 1), bgr.start()]).then(([fs]) => fs);
    expect(near(pixel(b, 5, 5), [...red].reverse(), 6)).toBe(true);
    const gray = await open({ input: halves, pixelFormat: 'gray8', realtime: false, width: 160, height: 120 });
    const [g] = await Promise.all([frames(gray, 1), gray.start()]).then(([fs]) => fs);
    expect([g.width, g.height, g.stride, g.data.length]).toEqual([160, 120, 160, 160 * 120]);
    expect(g.data[10 * 160 + 10]).toBeGreaterThan(g.data[110 * 160 + 10]); // red is brighter than blue
    for (const [pixelFormat, bytes, stride] of [['yuyv', W * H * 2, W * 2], ['nv12', (W * H * 3) / 2, W], ['rgba', W * H * 4, W * 4]] as const) {
      const s = await open({ input: halves, pixelFormat, realtime: false });
      const [x] = await Promise.all([frames(s, 1), s.start()]).then(([fs]) => fs);
      expect([x.pixelFormat, x.data.length, x.stride]).toEqual([pixelFormat, bytes, stride]);
      await s.close();
    }
  }, 180_000);

  it('reads a file as fast as ffmpeg decodes it (realtime: false): every frame is written, the newest is the last', async () => {
    const src = await open({ input: moving, realtime: false, slots: 4 });
    const ended = events(src, custom('ended'));
    await src.start();
    const end = (await ended) as Extract<SourceEvent, { type: 'custom' }>;
    expect(end.payload).toMatchObject({ frames: 30 });
    const last = src.latest() as VideoFrame | null;
    expect(last?.seq).toBe(29n);
    const size = W * H * 3;
    expect(Buffer.from(last!.data).equals(reference.subarray(29 * size, 30 * size))).toBe(true);
  });

  it('loops a file when asked, with contiguous seqs and rising capture times', async () => {
    const src = await open({ input: halves, loop: true, realtime: true });
    const got = frames(src, 25);
    await src.start();
    const fs = await got; // 10 frames in the file: 25 means it looped twice
    expectConformant(fs);
    expect(ffmpegChildren()).toHaveLength(1);
    await src.close();
    expect(ffmpegChildren()).toEqual([]);
  });

  it('encodes MJPEG when asked: every item is a whole JPEG that decodes to the picture', async () => {
    const src = await open({ input: moving, pixelFormat: 'mjpeg', realtime: false, slots: 64 });
    expect(src.spec).toMatchObject({ pixelFormat: 'mjpeg', stride: 0, width: W, height: H });
    const got = frames(src, 5);
    await src.start();
    const fs = await got;
    for (const f of fs) {
      expect(Array.from(f.data.subarray(0, 2))).toEqual([0xff, 0xd8]);
      expect(Array.from(f.data.subarray(-2))).toEqual([0xff, 0xd9]);
      expect(f.flags & ItemFlags.KEY).toBe(ItemFlags.KEY);
    }
    const decoded = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'mjpeg', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: fs[0].data });
    expect(decoded.length).toBe(W * H * 3);
  });

  it('rejects a missing file with DeviceNotFoundError, and a missing ffmpeg with a NativeError saying what to install', async () => {
    const e1 = await openFfmpeg({ input: join(work, 'nope.mp4') }).catch((e: unknown) => e);
    expect(SenseflowError.isInstance(e1) && e1.code).toBe('ENODEV');
    // A file that exists but is not video: ffmpeg's own message comes through.
    const e2 = await openFfmpeg({ input: join(work, 'nope.mp4'), format: 'mp4', width: 64, height: 48, fps: 10 }).catch((e: unknown) => e);
    expect(SenseflowError.isInstance(e2) && e2.code).toBe('ENODEV');
    expect((e2 as Error).message).toMatch(/No such file or directory/);
    const e3 = await openFfmpeg({ input: moving, ffmpegPath: join(work, 'no-ffmpeg') }).catch((e: unknown) => e);
    expect(SenseflowError.isInstance(e3) && e3.code).toBe('ENATIVE');
    expect((e3 as Error).message).toContain('apt-get install ffmpeg');
    expect(ffmpegChildren()).toEqual([]);
  });
});

// ---- HTTP MJPEG --------------------------------------------------------------------------------

/** A multipart MJPEG server (what IP cameras serve), looping `jpegs` at `fps` to every client. */
function mjpegServer(jpegs: Buffer[], fps: number, port = 0): Promise<{ server: Server; port: number; kill(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=senseflow', 'Cache-Control': 'no-cache' });
    let i = 0;
    const timer = setInterval(() => {
      const j = jpegs[i++ % jpegs.length];
      res.write(`--senseflow\r\nContent-Type: image/jpeg\r\nContent-Length: ${j.length}\r\n\r\n`);
      res.write(j);
      res.write('\r\n');
    }, 1000 / fps);
    res.on('close', () => clearInterval(timer));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        kill: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            for (const s of sockets) s.destroy();
          }),
      }),
    ),
  );
}

describe.skipIf(!!missingFfmpeg)(`ffmpeg source: HTTP MJPEG${missingFfmpeg ? ` — skipped: ${missingFfmpeg}` : ''}`, () => {
  let jpegs: Buffer[];
  let decoded: Buffer[];
  beforeAll(() => {
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=10`, '-frames:v', '20', '-q:v', '4', join(work, 'j%03d.jpg')]);
    const files = readdirSync(work)
      .filter((f) => /^j\d+\.jpg$/.test(f))
      .sort()
      .map((f) => join(work, f));
    jpegs = files.map((f) => readFileSync(f));
    decoded = files.map((f) => ffmpeg(['-i', f, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']));
  });

  it('passes MJPEG through unchanged: every item is one of the served JPEGs, byte for byte', async () => {
    const srv = await mjpegServer(jpegs, 15);
    try {
      const src = await open({ input: `http://127.0.0.1:${srv.port}/video`, pixelFormat: 'mjpeg' });
      expect(src.spec.description).toContain('passthrough');
      expect(src.spec).toMatchObject({ width: W, height: H, pixelFormat: 'mjpeg' });
      const got = frames(src, 12);
      await src.start();
      const fs = await got;
      const served = jpegs.map((j) => j.toString('base64'));
      const idx = fs.map((f) => served.indexOf(Buffer.from(f.data).toString('base64')));
      expect(idx.every((i) => i >= 0)).toBe(true);
      // In order: each next image is the next served one (mod the loop).
      for (let k = 1; k < idx.length; k++) expect(idx[k]).toBe((idx[k - 1] + 1) % jpegs.length);
      expectConformant(fs);
      await src.close();
      expect(ffmpegChildren()).toEqual([]);
    } finally {
      await srv.kill();
    }
  });

  it('decodes the stream to rgb24 (matching ffmpeg’s decode of the served images), and survives the server going away', async () => {
    const srv = await mjpegServer(jpegs, 15);
    const port = srv.port;
    let again: Awaited<ReturnType<typeof mjpegServer>> | null = null;
    try {
      const src = await open({ input: `http://127.0.0.1:${port}/video`, pixelFormat: 'rgb24', maxReconnectDelayMs: 500 });
      expect(src.spec).toMatchObject({ width: W, height: H, stride: W * 3 });
      const got = frames(src, 8);
      await src.start();
      const fs = await got;
      for (const f of fs) expect(decoded.some((d) => d.equals(Buffer.from(f.data)))).toBe(true);
      expectConformant(fs);
      const pid = ffmpegChildren()[0]?.pid;
      expect(pid).toBeGreaterThan(0);

      // The camera goes away: a disconnect event, and ffmpeg is retried (a new process).
      const down = events(src, (e) => e.type === 'disconnected');
      await srv.kill();
      const d = (await down) as Extract<SourceEvent, { type: 'disconnected' }>;
      expect(d.reason).toMatch(/ffmpeg stopped/);
      // It comes back on the same port: reconnected, frames flow again, after a marked gap.
      await sleep(300);
      again = await mjpegServer(jpegs, 15, port);
      const up = events(src, (e) => e.type === 'reconnected');
      const after = frames(src, 3);
      await up;
      const fs2 = await after;
      expect(fs2[0].seq).toBeGreaterThan(fs.at(-1)!.seq);
      const gapSeen = fs2.some((f) => (f.flags & ItemFlags.DISCONTINUITY) !== 0) || fs2[0].seq > fs.at(-1)!.seq + 1n;
      expect(gapSeen).toBe(true);
      expect(ffmpegChildren().map((c) => c.pid)).not.toContain(pid);
      await src.close();
      expect(ffmpegChildren()).toEqual([]);
    } finally {
      await again?.kill();
    }
  });

  it('rejects a refused connection with DeviceNotFoundError quoting ffmpeg', async () => {
    const srv = await mjpegServer(jpegs, 15);
    const port = srv.port;
    await srv.kill();
    const e = await openFfmpeg({ input: `http://127.0.0.1:${port}/video` }).catch((x: unknown) => x);
    expect(SenseflowError.isInstance(e) && e.code).toBe('ENODEV');
    expect((e as Error).message).toMatch(/Connection refused/i);
    // Same with the probe skipped: start() reports ffmpeg's failure.
    const e2 = await openFfmpeg({ input: `rtsp://127.0.0.1:${port}/live`, width: W, height: H, fps: 10 }).catch((x: unknown) => x);
    expect(SenseflowError.isInstance(e2) && e2.code).toBe('ENODEV');
    expect(ffmpegChildren()).toEqual([]);
  });
});

// ---- RTSP -----------------------------------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!!missingFfmpeg)(`ffmpeg source: RTSP${missingFfmpeg ? ` — skipped: ${missingFfmpeg}` : ''}`, () => {
  // No RTSP server here: the source's ffmpeg takes the server role (`-rtsp_flags listen`) and a second
  // ffmpeg pushes a stream to it, so the rtsp:// demuxer, RTP and the restart logic run for real.
  // Pushes `seconds` of a solid colour; retried while the listener is not up yet (a slow ffmpeg start).
  const pushers: ChildProcess[] = [];
  const push = (port: number, seconds: number, tries = 20) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `color=c=0x30C050:size=${W}x${H}:rate=15`, '-t', String(seconds), '-c:v', 'mpeg4', '-q:v', '2', '-f', 'rtsp', `rtsp://127.0.0.1:${port}/live`], { stdio: 'ignore' });
    pushers.push(p);
    p.on('exit', (code) => {
      if (code !== 0 && code !== null && tries > 1) setTimeout(() => push(port, seconds, tries - 1), 300);
    });
  };

  it('receives an RTSP stream, reports its end as a disconnect, and reconnects to the next one', async () => {
    const port = await freePort();
    const src = await open({ input: `rtsp://127.0.0.1:${port}/live`, inputOptions: ['-rtsp_flags', 'listen'], width: W, height: H, fps: 15, maxReconnectDelayMs: 250 });
    try {
      expect(src.spec).toMatchObject({ width: W, height: H, fps: 15, pixelFormat: 'rgb24' });
      const got = frames(src, 10);
      const started = src.start();
      await sleep(800); // let the listener come up
      push(port, 3);
      await started;
      const fs = await got;
      expectConformant(fs);
      for (const f of fs) expect(near(pixel(f, 100, 100), [0x30, 0xc0, 0x50], 12), `${pixel(f, 100, 100)}`).toBe(true);
      // The pusher stops after 3 s: the stream ended, which for a live input is a disconnect.
      await events(src, (e) => e.type === 'disconnected');
      const up = events(src, (e) => e.type === 'reconnected');
      await sleep(800);
      push(port, 3);
      await up;
      const [next] = await frames(src, 1);
      expect(next.seq).toBeGreaterThan(fs.at(-1)!.seq);
    } finally {
      for (const p of pushers) p.kill('SIGKILL');
      await src.close();
    }
    const pusherPids = pushers.map((p) => p.pid);
    expect(ffmpegChildren().filter((c) => !pusherPids.includes(c.pid))).toEqual([]);
  });
});

// ---- X11 screen (Xvfb) ---------------------------------------------------------------------------

describe.skipIf(!!missingFfmpeg || !!missingX)(`ffmpeg source: X11 screen on Xvfb${missingFfmpeg || missingX ? ` — skipped: ${missingFfmpeg || missingX}` : ''}`, () => {
  let xvfb: ChildProcess | null = null;
  let display = '';
  beforeAll(async () => {
    let n = 90;
    while (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) n++;
    display = `:${n}`;
    // -noreset: else the server resets (and the root turns black) when xsetroot disconnects.
    xvfb = spawn('Xvfb', [display, '-screen', '0', '640x480x24', '-nolisten', 'tcp', '-noreset'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(`/tmp/.X11-unix/X${n}`); i++) await sleep(50);
    await sleep(200);
  });
  afterAll(() => {
    xvfb?.kill('SIGTERM');
  });
  const paint = (colour: string) => execFileSync('xsetroot', ['-display', display, '-solid', colour]);

  it('captures the screen: red, then blue after repainting', async () => {
    paint('#ff0000');
    // -draw_mouse 0: the pointer sits in the middle of the screen otherwise.
    const src = await open({ format: 'x11grab', input: display, pixelFormat: 'rgb24', inputOptions: ['-framerate', '15', '-draw_mouse', '0'] });
    try {
      expect(src.spec).toMatchObject({ width: 640, height: 480, pixelFormat: 'rgb24', stride: 640 * 3 });
      const got = frames(src, 5);
      await src.start();
      const fs = await got;
      expectConformant(fs);
      for (const f of fs) for (const [x, y] of [[0, 0], [320, 240], [639, 479], [17, 401]]) expect(pixel(f, x, y)).toEqual([255, 0, 0]);
      paint('#0000ff');
      // Frames already in flight may still be red; 20 frames later (> 1 s) the screen is blue.
      const later = await frames(src, 20);
      expect(pixel(later.at(-1)!, 100, 100)).toEqual([0, 0, 255]);
      expectConformant(later);
      expect(ffmpegChildren()).toHaveLength(1);
    } finally {
      await src.close();
    }
    expect(ffmpegChildren()).toEqual([]);
  });

  it('stop() ends ffmpeg and start() starts a new one; scaling and bgr24 work on a live input', async () => {
    paint('#00ff00');
    const src = await open({ format: 'x11grab', input: display, width: 320, height: 240, fps: 10, pixelFormat: 'bgr24', inputOptions: ['-draw_mouse', '0'] }, true);
    try {
      const [a] = await frames(src, 1);
      expect([a.width, a.height, a.stride]).toEqual([320, 240, 960]);
      expect(pixel(a, 10, 10)).toEqual([0, 255, 0]);
      const first = ffmpegChildren().map((c) => c.pid);
      expect(first).toHaveLength(1);
      await src.stop();
      expect(ffmpegChildren()).toEqual([]);
      paint('#ffff00');
      await src.start();
      const [b] = await frames(src, 1);
      expect(b.seq).toBeGreaterThan(a.seq);
      expect(pixel(b, 300, 200)).toEqual([0, 255, 255]); // yellow, as B G R
      const second = ffmpegChildren().map((c) => c.pid);
      expect(second).toHaveLength(1);
      expect(second[0]).not.toBe(first[0]);
    } finally {
      await src.close();
    }
    expect(ffmpegChildren()).toEqual([]);
  });
});
