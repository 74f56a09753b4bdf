import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioSource, VideoSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { openTone } from '@senseflow/source-audio';
import { serve, type NetServer } from '@senseflow/net';
import { decodePattern, patternGeometry } from './helpers.js';

// tools/protocol-client.py was written from docs/protocol.md alone (socket + OpenCV): if it reads frames
// whose pixels agree with their headers, the document is complete.
const CLIENT = fileURLToPath(new URL('../../../tools/protocol-client.py', import.meta.url));
// apt's python3-opencv installs for the system interpreter (a pyenv python3 on PATH would not see it).
const PYTHON = process.env.SENSEFLOW_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
let missing: string | null = null;
try {
  execFileSync(PYTHON, ['-c', 'import cv2, numpy'], { stdio: 'ignore' });
} catch {
  missing = 'python3 with OpenCV and numpy is missing (apt-get install -y python3-opencv python3-numpy)';
}
if (missing && process.env.CI) throw new Error(missing);

/** Reads a binary PPM (P6) as packed RGB. */
function readPpm(path: string): { width: number; height: number; rgb: Uint8Array } {
  const buf = readFileSync(path);
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(buf.subarray(0, 64).toString('latin1'))!;
  return { width: Number(m[1]), height: Number(m[2]), rgb: buf.subarray(m[0].length) };
}

describe.skipIf(missing)(`Python protocol client${missing ? ` — skipped: ${missing}` : ''}`, () => {
  let cam: VideoSource;
  let mic: AudioSource;
  let server: NetServer;
  let dir: string;
  const run = (args: string[]) => promisify(execFile)(PYTHON, [CLIENT, `tcp://127.0.0.1:${server.address.port}`, '--token', 'py', ...args], { timeout: 30_000 });
  const lines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    cam = await openTestPattern({ width: 320, height: 240, fps: 30, pixelFormat: 'rgb24' });
    mic = await openTone({ rate: 48000, channels: 2 });
    server = await serve({ sources: { cam, mic }, port: 0, token: 'py', dashboard: false });
    dir = mkdtempSync(join(tmpdir(), 'senseflow-py-'));
  });
  afterAll(async () => {
    await server?.close();
    await cam?.close();
    await mic?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const video of ['jpeg', 'raw'] as const) {
    it(`reads ${video} frames whose pixels carry the seq and captureNs of their headers, and audio chunks`, async () => {
      const out = join(dir, video);
      const { stdout } = await run(['--video', video, '--frames', '6', '--dump', out]);
      const msgs = lines(stdout);
      expect(msgs[0]).toMatchObject({ kind: 'streams' });
      const frames = msgs.filter((m) => m.kind === 'video');
      expect(frames.length).toBe(6);
      for (const f of frames) {
        expect(f).toMatchObject({ width: 320, height: 240, format: video === 'jpeg' ? 'MJPG' : 'RGB3', decoded: [240, 320, 3] });
        const img = readPpm(join(out, `frame-${String(f.seq)}.ppm`));
        const got = decodePattern(img.rgb, patternGeometry(img.width, img.height, 'rgb24'));
        expect({ seq: String(got.seq), captureNs: String(got.captureNs) }).toEqual({ seq: f.seq, captureNs: f.captureNs });
      }
      const audio = msgs.filter((m) => m.kind === 'audio');
      expect(audio.length).toBeGreaterThan(0);
      expect(audio[0]).toMatchObject({ channels: 2, rate: 48000 });
      expect(msgs.at(-1)).toMatchObject({ kind: 'summary', video: 6, opencv: true });
      expect((msgs.at(-1) as { acks: number }).acks).toBeGreaterThan(0); // it asked for flow control and acknowledged
    });
  }

  it('works as a non-acking client too (--no-ack)', async () => {
    const msgs = lines((await run(['--video', 'raw', '--frames', '3', '--no-ack'])).stdout);
    expect(msgs.at(-1)).toMatchObject({ kind: 'summary', video: 3, acks: 0 });
  });

  it('is refused with an ERROR message for a wrong token', async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [CLIENT, `tcp://127.0.0.1:${server.address.port}`, '--token', 'nope'], { timeout: 30_000 }).catch((e: { stdout: string }) => e);
    expect(lines(stdout)).toContainEqual(expect.objectContaining({ kind: 'error', code: 'unauthorized' }));
  });
});
