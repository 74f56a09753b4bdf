import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, map, take, timeout, toArray } from 'rxjs';
import { InvalidStateError, type AudioChunk, type VideoFrame } from '@senseflow/core';
import { connect, type RemoteSource } from '@senseflow/net';
import jpeg from 'jpeg-js';
import { decodePattern, patternGeometry, sleep } from './helpers.js';

// The server runs in another process (examples/remote-stream.mjs): a graph spanning two processes over loopback.
const EXAMPLE = fileURLToPath(new URL('../../../examples/remote-stream.mjs', import.meta.url));

describe('remote source across processes', () => {
  let child: ChildProcess;
  let port = 0;
  const g = patternGeometry(256, 192, 'bgr24');

  beforeAll(async () => {
    const args = ['serve', '--port', '0', '--token', 'tok', '--width', '256', '--height', '192', '--format', 'bgr24'];
    child = spawn(process.execPath, [EXAMPLE, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    });
    port = JSON.parse(line).port;
  }, 90_000); // starting a serving process: slow on a loaded machine
  afterAll(() => {
    child?.stdin?.end();
  });

  it('video over TCP: same API as a local source, seq and captureNs preserved (decoded from the pixels)', async () => {
    const cam = (await connect(`tcp://127.0.0.1:${port}`, { stream: 'cam', token: 'tok' })) as RemoteSource<VideoFrame>;
    try {
      expect(cam.spec).toMatchObject({ kind: 'video', width: 256, height: 192, pixelFormat: 'bgr24' });
      // Views are valid during the callback: decode there.
      const frames = await firstValueFrom(cam.frames$.pipe(map((f) => ({ seq: f.seq, captureNs: f.captureNs, pixels: decodePattern(f.data, g) })), take(15), toArray()));
      for (const f of frames) expect(f.pixels).toEqual({ seq: f.seq, captureNs: f.captureNs });
      const latest = cam.latest()!;
      expect(latest.seq).toBeGreaterThanOrEqual(frames.at(-1)!.seq);
      expect(decodePattern(latest.data, g)).toEqual({ seq: latest.seq, captureNs: latest.captureNs });
      const stats = await firstValueFrom(cam.stats$);
      expect(stats.drops).toHaveProperty('network');
      expect(stats.rate).toBeGreaterThan(0);
      await expect(cam.setControl('brightness', 1)).rejects.toBeInstanceOf(InvalidStateError);
    } finally {
      await cam.close();
    }
    expect(() => cam.latest()).toThrow(InvalidStateError);
  });

  it('raw video over WebSocket (a zero-copy frame goes out as fragments of one message)', async () => {
    const cam = (await connect(`ws://127.0.0.1:${port}/ws`, { stream: 'cam', token: 'tok' })) as RemoteSource<VideoFrame>;
    try {
      const frames = await firstValueFrom(cam.frames$.pipe(map((f) => ({ seq: f.seq, captureNs: f.captureNs, pixels: decodePattern(f.data, g) })), take(10), toArray()));
      for (const f of frames) expect(f.pixels).toEqual({ seq: f.seq, captureNs: f.captureNs });
    } finally {
      await cam.close();
    }
  });

  it('video over WebSocket as JPEG: mjpeg items that decode to the same seq and captureNs', async () => {
    const cam = (await connect(`ws://127.0.0.1:${port}/ws`, { stream: 'cam', token: 'tok', video: 'jpeg' })) as RemoteSource<VideoFrame>;
    try {
      expect(cam.spec).toMatchObject({ kind: 'video', pixelFormat: 'mjpeg' });
      const frames = await firstValueFrom(cam.frames$.pipe(map((f) => f.copy()), take(5), toArray()));
      for (const f of frames) {
        const img = jpeg.decode(f.data, { useTArray: true });
        expect(decodePattern(img.data, patternGeometry(256, 192, 'rgba'))).toEqual({ seq: f.seq, captureNs: f.captureNs });
      }
    } finally {
      await cam.close();
    }
  });

  it('audio: read(n) and chunks with their capture times, continuous', async () => {
    const mic = (await connect(`tcp://127.0.0.1:${port}`, { stream: 'mic', token: 'tok' })) as RemoteSource<AudioChunk>;
    try {
      expect(mic.spec).toMatchObject({ kind: 'audio', rate: 48000, channels: 2, format: 's16le' });
      const chunks = await firstValueFrom(mic.frames$.pipe(filter((c) => c.frames > 0), map((c) => c.copy()), take(10), toArray()));
      for (let i = 1; i < chunks.length; i++) {
        expect(chunks[i].startFrame).toBe(chunks[i - 1].startFrame + BigInt(chunks[i - 1].frames));
        expect(chunks[i].captureNs).toBeGreaterThan(chunks[i - 1].captureNs);
      }
      const block = mic.read(4800);
      expect(block.frames).toBe(4800);
      expect(block.captureNs).not.toBeNull();
      let peak = 0;
      for (const v of block.data) peak = Math.max(peak, Math.abs(v));
      expect(peak).toBeGreaterThan(1000); // a real tone, not silence
      expect(mic.drops().network).toBe(0);
    } finally {
      await mic.close();
    }
  });

  it('reports a lost server as a disconnected event and keeps its items readable', async () => {
    const args = ['serve', '--port', '0', '--token', 'tok', '--width', '64', '--height', '32'];
    const other = spawn(process.execPath, [EXAMPLE, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const otherPort = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: other.stdout! }).once('line', resolve))).port;
    const cam = (await connect(`tcp://127.0.0.1:${otherPort}`, { stream: 'cam', token: 'tok', reconnect: false })) as RemoteSource<VideoFrame>;
    try {
      await firstValueFrom(cam.frames$.pipe(take(3), toArray()));
      const lost = firstValueFrom(cam.events$.pipe(filter((e) => e.type === 'disconnected')));
      other.stdin!.end(); // the serving process shuts down
      expect(await lost).toMatchObject({ type: 'disconnected' });
      expect(cam.latest()).not.toBeNull();
    } finally {
      await cam.close();
      other.kill();
    }
  }, 90_000); // spawns a second serving process: slow on a loaded machine

  // stop() on a remote source gates the receive worker: once it resolves, nothing more enters the ring, not
  // even an item that was in flight when stop() was called. Many stop/start cycles on the 100 Hz tone (the
  // race is a message-port hop wide: before the fix about 1 cycle in 30 let a chunk in).
  for (const transport of ['tcp', 'ws'] as const) {
    it(`stop() over ${transport}: no item is written into the ring after it resolves (audio and video)`, async () => {
      const base = transport === 'tcp' ? `tcp://127.0.0.1:${port}` : `ws://127.0.0.1:${port}/ws`;
      const { cam, mic } = await connect(base, { token: 'tok', streams: ['cam', 'mic'] });
      try {
        const late: string[] = [];
        let camSkipped = 0n; // video frames the server sent while cam was stopped
        for (let cycle = 0; cycle < 200; cycle++) {
          const src = cycle % 4 === 3 ? cam : mic; // mostly audio (100 chunks/s), some video (30 fps)
          await firstValueFrom(src.frames$.pipe(take(1), timeout(10_000)));
          await sleep(Math.random() * 10); // stop() at any phase of the 10 ms audio period
          await src.stop();
          const atStop = src.latest()?.seq ?? -1n;
          await sleep(30); // three audio periods: an in-flight chunk would have landed by now
          const after = src.latest()?.seq ?? -1n;
          if (after !== atStop) late.push(`cycle ${cycle} (${src.spec.kind}): seq ${atStop} at stop(), ${after} after`);
          await src.start();
          if (src === cam) camSkipped += (await firstValueFrom(cam.frames$.pipe(take(1), timeout(10_000)))).seq - after - 1n;
        }
        expect(late).toEqual([]);
        // What the server sent while a stream was stopped was not wanted: not counted as lost. Audio loses
        // nothing else on loopback; video is latest-wins on the server, which may skip frames under load
        // (counted), but far fewer than the stops skipped (each of which used to be counted).
        expect(mic.drops().network).toBe(0);
        expect(camSkipped).toBeGreaterThan(20n);
        expect(cam.drops().network).toBeLessThan(Number(camSkipped) / 2);
      } finally {
        await Promise.all([cam.close(), mic.close()]);
      }
    }, 60_000);
  }

  it('a wrong token is refused with a typed error', async () => {
    await expect(connect(`tcp://127.0.0.1:${port}`, { token: 'wrong' })).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/token/) });
  });
});
