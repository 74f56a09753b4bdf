import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeError } from '@senseflow/core';
import { convertFrame } from '@senseflow/source-video';
import { noiseBytes } from '../../../tools/fixtures/noise.mjs';

// ---- references -----------------------------------------------------------------------------------

const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/** Textbook BT.601 limited range (luma below black clamped to black, as OpenCV does), in floating point. */
function yuvToRgb(y: number, u: number, v: number): [number, number, number] {
  const c = 1.164 * Math.max(0, y - 16);
  const d = u - 128;
  const e = v - 128;
  return [clamp(c + 1.596 * e), clamp(c - 0.391 * d - 0.813 * e), clamp(c + 2.018 * d)];
}

/** Reference for packed 4:2:2 (offsets of Y0, U, Y1, V in a macropixel) to rgb24. */
function ref422(src: Uint8Array, w: number, h: number, stride: number, o: [number, number, number, number]): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const m = y * stride + (x >> 1) * 4;
      const luma = src[m + (x & 1 ? o[2] : o[0])];
      out.set(yuvToRgb(luma, src[m + o[1]], src[m + o[3]]), (y * w + x) * 3);
    }
  return out;
}

function refNv12(src: Uint8Array, w: number, h: number, vFirst = false): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const c = w * h + (y >> 1) * w + (x & ~1);
      const [u, v] = vFirst ? [src[c + 1], src[c]] : [src[c], src[c + 1]];
      out.set(yuvToRgb(src[y * w + x], u, v), (y * w + x) * 3);
    }
  return out;
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const W = 64;
const H = 36;

describe('YUV conversions (native kernels vs a JS reference)', () => {
  const yuyv = noiseBytes(W * H * 2);

  it('yuyv → rgb24 within ±1 of the reference, on noise', () => {
    const rgb = convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'rgb24');
    expect(rgb.length).toBe(W * H * 3);
    expect(maxDiff(rgb, ref422(yuyv, W, H, W * 2, [0, 1, 2, 3]))).toBeLessThanOrEqual(1);
  });

  it('yuyv → bgr24 / rgba are rgb24 reordered; gray8 is the luma', () => {
    const rgb = convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'rgb24');
    const bgr = convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'bgr24');
    const rgba = convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'rgba');
    const gray = convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'gray8');
    for (let i = 0; i < W * H; i++) {
      expect([bgr[i * 3 + 2], bgr[i * 3 + 1], bgr[i * 3]]).toEqual([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]);
      expect([rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2], rgba[i * 4 + 3]]).toEqual([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 255]);
      expect(gray[i]).toBe(yuyv[i * 2]);
    }
  });

  it.each([2, 16, 17, 31, 33, 48, 250, 1282])('yuyv/uyvy → rgb24/bgr24/rgba at width %i (SIMD body + scalar tail) within ±1', (w) => {
    const h = 3;
    for (const [fmt, order] of [['yuyv', [0, 1, 2, 3]], ['uyvy', [1, 0, 3, 2]]] as const) {
      const stride = Math.ceil(w / 2) * 4;
      const src = noiseBytes(stride * h, w * 7 + 1);
      const ref = ref422(src, w, h, stride, [...order] as [number, number, number, number]);
      const rgb = convertFrame({ data: src, pixelFormat: fmt, width: w, height: h }, 'rgb24');
      expect(maxDiff(rgb, ref)).toBeLessThanOrEqual(1);
      const bgr = convertFrame({ data: src, pixelFormat: fmt, width: w, height: h }, 'bgr24');
      const rgba = convertFrame({ data: src, pixelFormat: fmt, width: w, height: h }, 'rgba');
      for (let i = 0; i < w * h; i++) {
        expect([bgr[i * 3 + 2], bgr[i * 3 + 1], bgr[i * 3]]).toEqual([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]);
        expect([rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2], rgba[i * 4 + 3]]).toEqual([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 255]);
      }
      // nothing written past the frame
      const slot = new Uint8Array(w * h * 3 + 16).fill(0xab);
      convertFrame({ data: src, pixelFormat: fmt, width: w, height: h }, 'rgb24', slot.subarray(0, w * h * 3));
      expect(Array.from(slot.subarray(w * h * 3))).toEqual(new Array(16).fill(0xab));
    }
  });

  it('uyvy → rgb24 within ±1', () => {
    const src = noiseBytes(W * H * 2, 99);
    const rgb = convertFrame({ data: src, pixelFormat: 'uyvy', width: W, height: H }, 'rgb24');
    expect(maxDiff(rgb, ref422(src, W, H, W * 2, [1, 0, 3, 2]))).toBeLessThanOrEqual(1);
  });

  it('honours a padded source stride', () => {
    const stride = W * 2 + 32;
    const src = noiseBytes(stride * H, 7);
    const rgb = convertFrame({ data: src, pixelFormat: 'yuyv', width: W, height: H, stride }, 'rgb24');
    expect(maxDiff(rgb, ref422(src, W, H, stride, [0, 1, 2, 3]))).toBeLessThanOrEqual(1);
  });

  it('nv12 / nv21 → rgb24 within ±1, nv12 → gray8 is the luma plane', () => {
    const src = noiseBytes((W * H * 3) / 2, 5);
    expect(maxDiff(convertFrame({ data: src, pixelFormat: 'nv12', width: W, height: H }, 'rgb24'), refNv12(src, W, H))).toBeLessThanOrEqual(1);
    expect(maxDiff(convertFrame({ data: src, pixelFormat: 'nv21', width: W, height: H }, 'rgb24'), refNv12(src, W, H, true))).toBeLessThanOrEqual(1);
    expect(Array.from(convertFrame({ data: src, pixelFormat: 'nv12', width: W, height: H }, 'gray8'))).toEqual(Array.from(src.subarray(0, W * H)));
  });

  it('maps the BT.601 primaries of 75 % colour bars to the right colours', () => {
    // Y, U, V of 75 % bars (limited range): white, yellow, cyan, green, magenta, red, blue, black.
    const bars: Array<[number, number, number, [number, number, number]]> = [
      [180, 128, 128, [191, 191, 191]],
      [162, 44, 142, [191, 191, 0]],
      [131, 156, 44, [0, 191, 191]],
      [112, 72, 58, [0, 191, 0]],
      [84, 184, 198, [191, 0, 191]],
      [65, 100, 212, [191, 0, 0]],
      [35, 212, 114, [0, 0, 191]],
      [16, 128, 128, [0, 0, 0]],
    ];
    const src = new Uint8Array(bars.length * 4);
    bars.forEach(([y, u, v], i) => src.set([y, u, y, v], i * 4));
    const rgb = convertFrame({ data: src, pixelFormat: 'yuyv', width: bars.length * 2, height: 1 }, 'rgb24');
    bars.forEach(([, , , want], i) => {
      for (let c = 0; c < 3; c++) expect(Math.abs(rgb[i * 6 + c] - want[c])).toBeLessThanOrEqual(3);
    });
  });

  it('writes into a SharedArrayBuffer view (a ring slot) at an offset', () => {
    const sab = new SharedArrayBuffer(W * H * 3 + 128);
    const slot = new Uint8Array(sab, 64, W * H * 3);
    const out = convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'rgb24', slot);
    expect(out.buffer).toBe(sab);
    expect(new Uint8Array(sab, 0, 64).every((b) => b === 0)).toBe(true);
    expect(maxDiff(out, convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'rgb24'))).toBe(0);
  });

  it('refuses short input and unknown outputs with typed errors', () => {
    expect(() => convertFrame({ data: yuyv.subarray(0, 100), pixelFormat: 'yuyv', width: W, height: H }, 'rgb24')).toThrow(NativeError);
    expect(() => convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'hsv')).toThrow(/expected one of rgb24, bgr24, gray8, rgba for `output`/);
    expect(() => convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: W, height: H }, 'rgb24', new Uint8Array(10))).toThrow(/for `dst`/);
  });
});

// ---- against OpenCV itself, when it is installed ----------------------------------------------------

const PY = '/usr/bin/python3';
const hasCv2 = spawnSync(PY, ['-c', 'import cv2, numpy'], { stdio: 'ignore' }).status === 0;
if (!hasCv2 && process.env.CI) throw new Error('convert.test: python3-opencv is required in CI (apt-get install python3-opencv)');

describe('agreement with OpenCV', () => {
  it.skipIf(!hasCv2)('yuyv → rgb24 equals cv2.COLOR_YUV2RGB_YUYV within ±1 on noise (skipped without python3-opencv)', () => {
    const w = 320;
    const h = 240;
    const src = noiseBytes(w * h * 2, 2024);
    const dir = mkdtempSync(join(tmpdir(), 'sf-cv-'));
    try {
      writeFileSync(join(dir, 'in.yuyv'), src);
      const script = `import cv2, numpy as np
a = np.fromfile('${dir}/in.yuyv', np.uint8).reshape(${h}, ${w}, 2)
cv2.cvtColor(a, cv2.COLOR_YUV2RGB_YUYV).tofile('${dir}/out.rgb')`;
      const r = spawnSync(PY, ['-c', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const cv = new Uint8Array(readFileSync(join(dir, 'out.rgb')));
      expect(maxDiff(convertFrame({ data: src, pixelFormat: 'yuyv', width: w, height: h }, 'rgb24'), cv)).toBeLessThanOrEqual(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- MJPEG decode vs ffmpeg's own decode -----------------------------------------------------------

const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
if (!hasFfmpeg && process.env.CI) throw new Error('convert.test: ffmpeg is required in CI (apt-get install ffmpeg)');

describe('MJPEG decode (libjpeg-turbo straight into the destination)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-jpeg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ff = (...args: string[]) => {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  };

  it.skipIf(!hasFfmpeg)('decodes an ffmpeg-made JPEG like ffmpeg does (skipped without ffmpeg)', () => {
    ff('-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', join(dir, 'x.jpg'));
    // swscale's fast default skips chroma interpolation; ask it for the accurate path libjpeg-turbo also takes.
    ff('-i', join(dir, 'x.jpg'), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-sws_flags', 'accurate_rnd+full_chroma_int', join(dir, 'x.rgb'));
    ff('-i', join(dir, 'x.jpg'), '-f', 'rawvideo', '-pix_fmt', 'gray', join(dir, 'x.gray'));
    const jpeg = new Uint8Array(readFileSync(join(dir, 'x.jpg')));
    const want = new Uint8Array(readFileSync(join(dir, 'x.rgb')));
    const got = convertFrame({ data: jpeg, pixelFormat: 'mjpeg', width: 320, height: 240 }, 'rgb24');
    expect(got.length).toBe(want.length);
    // Both decoders are exact IDCTs; they differ only in chroma upsampling and rounding.
    let sum = 0;
    let big = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      sum += d;
      if (d > 24) big++;
    }
    expect(sum / got.length).toBeLessThan(1.5);
    expect(big / got.length).toBeLessThan(0.005);
    // Luma has no upsampling: grey must agree almost exactly.
    const gray = convertFrame({ data: jpeg, pixelFormat: 'mjpeg', width: 320, height: 240 }, 'gray8');
    expect(maxDiff(gray, new Uint8Array(readFileSync(join(dir, 'x.gray'))))).toBeLessThanOrEqual(2);
  });

  it.skipIf(!hasFfmpeg)('reports a corrupt or mis-sized JPEG as a typed error (skipped without ffmpeg)', () => {
    ff('-f', 'lavfi', '-i', 'testsrc2=size=160x120', '-frames:v', '1', join(dir, 's.jpg'));
    const jpeg = new Uint8Array(readFileSync(join(dir, 's.jpg')));
    expect(() => convertFrame({ data: jpeg, pixelFormat: 'mjpeg', width: 320, height: 240 }, 'rgb24')).toThrow(/160x120, expected 320x240/);
    expect(() => convertFrame({ data: jpeg.subarray(0, 20), pixelFormat: 'mjpeg', width: 160, height: 120 }, 'rgb24')).toThrow(/not a decodable JPEG/);
  });
});
