// Kernel tier: an MJPEG webcam made of v4l2loopback fed by ffmpeg
// (run: bash tools/kernel-vm/run-vitest.sh packages/source-video/test/loopback.kernel.test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';
import { ItemFlags, type VideoSource } from '@senseflow/core';
import { runSourceConformance } from '@senseflow/core/testing';
import { convertFrame, listCameras, openCamera, type CameraInfo } from '@senseflow/source-video';
// @ts-expect-error plain JS helper shared by the test tiers
import { background, waitFor } from '../../../tools/fixtures/processes.mjs';

const HOST = { requestTimeoutMs: 120_000 };
const W = 320;
const H = 240;
/** The node the VM scripts create (video_nr=10); found by driver name when that differs. */
const loopbackNodes = () => listCameras().filter((c) => c.driver === 'v4l2 loopback');
const candidate = ['/dev/video11', ...Array.from({ length: 16 }, (_, i) => `/dev/video${i}`)].find((p) => {
  if (!existsSync(p)) return false;
  const r = spawnSync('v4l2-ctl', ['-d', p, '--info'], { encoding: 'utf8' });
  return /Driver name\s*:\s*v4l2 loopback/.test(r.stdout ?? '');
});
const missing = candidate ? '' : 'no v4l2loopback node: run inside the kernel VM (bash tools/kernel-vm/run-vitest.sh)';
if (missing && process.env.CI) throw new Error(`loopback.kernel.test: ${missing}`);

/** Static SMPTE bars: every frame the feeder sends is the same picture. */
const PATTERN = `smptebars=size=${W}x${H}:rate=15`;

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

describe.skipIf(!!missing)(`v4l2loopback MJPEG${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'sf-loop-'));
  let feeder: { stop(sig?: string): Promise<unknown>; stderrText(): string };
  let cam: CameraInfo;
  let reference: Uint8Array;

  beforeAll(async () => {
    const ref = join(work, 'ref.rgb');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', PATTERN, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', ref]);
    expect(r.status).toBe(0);
    reference = new Uint8Array(readFileSync(ref));
    feeder = background('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', PATTERN, '-c:v', 'mjpeg', '-q:v', '3', '-f', 'v4l2', candidate!]);
    // exclusive_caps=1: the node becomes a capture device once the writer has set its format.
    const ready = await waitFor(() => loopbackNodes().some((c) => c.formats.some((f) => f.pixelFormat === 'mjpeg')), { timeoutMs: 90_000, intervalMs: 300 });
    expect(ready, `no MJPG capture format appeared; ffmpeg: ${feeder.stderrText()}`).toBe(true);
    cam = loopbackNodes().find((c) => c.formats.some((f) => f.pixelFormat === 'mjpeg'))!;
  });
  afterAll(async () => {
    await feeder?.stop('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  it('lists the loopback webcam with its MJPEG mode', () => {
    expect(cam.modes).toContainEqual(expect.objectContaining({ pixelFormat: 'mjpeg', width: W, height: H }));
    expect(cam.descriptions.some((d) => d.includes(`${W}x${H}@`) && d.endsWith(', mjpeg'))).toBe(true);
  });

  describe('passthrough', () => {
    let src: VideoSource;
    beforeAll(async () => {
      src = await openCamera({ device: cam.id, pixelFormat: 'mjpeg' }, HOST);
    });
    afterAll(() => src?.close());

    it('delivers complete JPEGs (SOI … EOI) of the source picture, stamped by the driver', async () => {
      expect(src.spec).toMatchObject({ pixelFormat: 'mjpeg', width: W, height: H, stride: 0 });
      const frames = await firstValueFrom(src.frames$.pipe(take(10), timeout(120_000), toArray()));
      for (const f of frames) {
        expect(f.pixelFormat).toBe('mjpeg');
        expect([f.data[0], f.data[1]]).toEqual([0xff, 0xd8]);
        expect([f.data[f.data.length - 2], f.data[f.data.length - 1]]).toEqual([0xff, 0xd9]);
        expect(f.flags & ItemFlags.KEY).toBeTruthy();
        // v4l2loopback stamps on CLOCK_MONOTONIC without the MONOTONIC flag: its stamps must be accepted.
        expect(f.flags & ItemFlags.TIMESTAMP_FALLBACK).toBe(0);
      }
      const decoded = convertFrame({ data: frames[frames.length - 1].data, pixelFormat: 'mjpeg', width: W, height: H }, 'rgb24');
      expect(meanAbsDiff(decoded, reference)).toBeLessThan(6);
    });
  });

  // The core conformance suite on the loopback webcam (MJPEG passthrough, fed at 15 fps).
  runSourceConformance('v4l2 on v4l2loopback (MJPEG)', {
    open: () => openCamera({ device: cam.id, pixelFormat: 'mjpeg' }, HOST),
    kind: 'video',
    timeoutMs: 120_000,
    // The device advertises 30 fps, but frames arrive at the feeder's rate (PATTERN: 15 fps).
    rate: 15,
  });

  describe('decoded in the worker', () => {
    let src: VideoSource;
    beforeAll(async () => {
      src = await openCamera({ device: cam.id, pixelFormat: 'rgb24' }, HOST);
    });
    afterAll(() => src?.close());

    it('turns MJPEG into rgb24 frames matching the source picture', async () => {
      expect(src.spec).toMatchObject({ pixelFormat: 'rgb24', width: W, height: H, stride: W * 3 });
      expect(src.spec.notes?.join(' ')).toContain('decoded to rgb24');
      const frames = await firstValueFrom(src.frames$.pipe(take(5), timeout(120_000), toArray()));
      const f = frames[frames.length - 1];
      expect(f.data.length).toBe(W * H * 3);
      expect(meanAbsDiff(f.data, reference)).toBeLessThan(6);
    });
  });
});
