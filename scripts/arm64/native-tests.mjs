// The native addons' unit tests for a non-x86 build, run by scripts/test-arm64.sh under qemu-user with
// Debian's nodejs:arm64 (Node 18, so node:test rather than vitest). The addons load the way a user's
// install loads them: through node-gyp-build from native/prebuilds/linux-arm64 (PREBUILDS_ONLY=1 keeps the
// host's native/build/Release out of the way). Inputs that need tools (ffmpeg) are made on the host first:
//   SF_ARM64_FIXTURES=DIR holding mjpeg.jpg (320x240), mjpeg.rgb and mjpeg.gray (ffmpeg's decode of it).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const require = createRequire(new URL('packages/source-video/package.json', root));
const load = require('node-gyp-build');
const fixtures = process.env.SF_ARM64_FIXTURES;

test('runs on the arm64 prebuilds', () => {
  assert.equal(process.arch, 'arm64');
  for (const p of ['source-video', 'source-audio', 'sinks'])
    assert.match(load.path(new URL(`packages/${p}/native`, root).pathname), /prebuilds\/linux-arm64\/node\.napi\.node$/);
});

// ---- pixel conversions: the portable kernels against the fixed-point reference, bit-exact ---------------
const { convertFrame } = await import(new URL('packages/source-video/dist/index.js', root).href);
const { noiseBytes } = await import(new URL('tools/fixtures/noise.mjs', root).href);

// BT.601 limited range in 20-bit fixed point: the constants and rounding of native/convert.cc (and OpenCV).
const CY = 1220542, CUB = 2116026, CUG = -409993, CVG = -852492, CVR = 1673527, HALF = 1 << 19;
const sat = (v) => (v < 0 ? 0 : v > 255 ? 255 : v);
function px(y, u, v) {
  const ys = Math.max(0, y - 16) * CY;
  u -= 128;
  v -= 128;
  return [sat((ys + HALF + CVR * v) >> 20), sat((ys + HALF + CVG * v + CUG * u) >> 20), sat((ys + HALF + CUB * u) >> 20)];
}
// out: 'rgb24' | 'bgr24' | 'rgba' | 'gray8'; sample(x, y) → [Y, U, V]
function reference(w, h, out, sample) {
  const n = out === 'rgba' ? 4 : out === 'gray8' ? 1 : 3;
  const d = new Uint8Array(w * h * n);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [Y, U, V] = sample(x, y);
      const o = (y * w + x) * n;
      if (out === 'gray8') d[o] = Y;
      else {
        const [r, g, b] = px(Y, U, V);
        d.set(out === 'bgr24' ? [b, g, r] : [r, g, b], o);
        if (n === 4) d[o + 3] = 255;
      }
    }
  return d;
}

for (const [w, h] of [[640, 3], [67, 5]]) {
  for (const [fmt, o] of [['yuyv', [0, 1, 2, 3]], ['uyvy', [1, 0, 3, 2]]]) {
    test(`${fmt} ${w}x${h} → rgb24, bgr24, rgba, gray8 equal the reference`, () => {
      const stride = Math.ceil(w / 2) * 4;
      const src = noiseBytes(stride * h, 7 + w);
      for (const out of ['rgb24', 'bgr24', 'rgba', 'gray8']) {
        const got = convertFrame({ data: src, pixelFormat: fmt, width: w, height: h }, out);
        const want = reference(w, h, out, (x, y) => {
          const m = y * stride + (x >> 1) * 4;
          return [src[m + (x & 1 ? o[2] : o[0])], src[m + o[1]], src[m + o[3]]];
        });
        assert.deepEqual(got, want, `${fmt} → ${out}`);
      }
    });
  }
}

for (const fmt of ['nv12', 'nv21']) {
  test(`${fmt} 320x6 → rgb24, bgr24, rgba equal the reference`, () => {
    const w = 320, h = 6;
    const src = noiseBytes(w * h * 1.5, 99);
    for (const out of ['rgb24', 'bgr24', 'rgba']) {
      const got = convertFrame({ data: src, pixelFormat: fmt, width: w, height: h }, out);
      const want = reference(w, h, out, (x, y) => {
        const c = w * h + (y >> 1) * w + (x & ~1);
        return fmt === 'nv12' ? [src[y * w + x], src[c], src[c + 1]] : [src[y * w + x], src[c + 1], src[c]];
      });
      assert.deepEqual(got, want, `${fmt} → ${out}`);
    }
  });
}

// ---- MJPEG decode (libjpeg-turbo, arm64) against ffmpeg's decode of the same file on the host -------------
test('MJPEG decodes like ffmpeg decodes it', () => {
  assert.ok(fixtures, 'SF_ARM64_FIXTURES is not set (scripts/test-arm64.sh makes them)');
  const jpeg = new Uint8Array(readFileSync(join(fixtures, 'mjpeg.jpg')));
  const want = new Uint8Array(readFileSync(join(fixtures, 'mjpeg.rgb')));
  const got = convertFrame({ data: jpeg, pixelFormat: 'mjpeg', width: 320, height: 240 }, 'rgb24');
  assert.equal(got.length, want.length);
  // Both are exact IDCTs; they differ only in chroma upsampling and rounding (as in convert.test.ts).
  let sum = 0, big = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    sum += d;
    if (d > 24) big++;
  }
  assert.ok(sum / got.length < 1.5, `mean difference ${sum / got.length}`);
  assert.ok(big / got.length < 0.005, `${big} samples differ by more than 24`);
  const gray = convertFrame({ data: jpeg, pixelFormat: 'mjpeg', width: 320, height: 240 }, 'gray8');
  const wantGray = readFileSync(join(fixtures, 'mjpeg.gray'));
  let worst = 0;
  for (let i = 0; i < gray.length; i++) worst = Math.max(worst, Math.abs(gray[i] - wantGray[i]));
  assert.ok(worst <= 2, `grey differs by up to ${worst}`);
});

// ---- FFT (FFTW single precision, arm64) against a double-precision DFT ------------------------------------
test('FFTW forward transform equals the DFT', () => {
  const fft = load(new URL('packages/sinks/native', root).pathname);
  for (const n of [64, 1024]) {
    const input = new Float32Array(n).map((_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i * 1.91) + ((i * 7919) % 13) / 13);
    const bins = n / 2 + 1;
    const output = new Float32Array(bins * 2);
    const plan = new fft.Plan(n, 1, 0);
    plan.forward(input, output, 1);
    plan.dispose();
    let scale = 0, err = 0;
    for (let k = 0; k < bins; k++) {
      let re = 0, im = 0;
      for (let t = 0; t < n; t++) {
        re += input[t] * Math.cos((2 * Math.PI * k * t) / n);
        im -= input[t] * Math.sin((2 * Math.PI * k * t) / n);
      }
      scale = Math.max(scale, Math.hypot(re, im));
      err = Math.max(err, Math.abs(output[2 * k] - re), Math.abs(output[2 * k + 1] - im));
    }
    assert.ok(err / scale < 1e-5, `n=${n}: max error ${err} of ${scale}`);
  }
});

// ---- ALSA capture (alsa-lib arm64) through the ALSA file plugin: the captured bytes are the file's --------
test('ALSA captures a raw file bit-exact through the file plugin', () => {
  const alsa = load(new URL('packages/source-audio/native', root).pathname);
  const dir = mkdtempSync(join(tmpdir(), 'sf-arm64-alsa-'));
  try {
    const frames = 4800, channels = 2, bpf = 4;
    const pcm = noiseBytes((frames + 4096) * bpf, 4242); // longer than the capture (see tools/fixtures/alsa/senseflow.conf)
    const infile = join(dir, 'in.raw');
    writeFileSync(infile, pcm);
    const info = alsa.open(`senseflow_file:INFILE=${infile}`, 48000, channels, 's16le', 256, 1024);
    assert.equal(info.bytesPerFrame, bpf);
    // The addon reads into shared memory (a ring) bound once with target(); a read passes offsets only.
    const mem = new Uint8Array(new SharedArrayBuffer(frames * bpf));
    const out = new Float64Array(alsa.readOutSlots);
    alsa.target(info.id, mem, out);
    alsa.start(info.id);
    let got = 0;
    for (let tries = 0; got < frames && tries < 1000; tries++) {
      const n = Math.min(256, frames - got);
      const rc = alsa.read(info.id, got * bpf, n, 1000, n);
      assert.ok(rc >= 0, `read returned ${rc}`);
      got += rc;
    }
    alsa.close(info.id);
    assert.equal(got, frames);
    assert.deepEqual(new Uint8Array(mem), new Uint8Array(pcm.subarray(0, frames * bpf)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the capture loop in native code (core's native/sample-ring.h on a weakly ordered CPU) ----------------
test('ALSA capture() reads, stamps and commits into a core sample ring: bit-exact, every chunk recorded', async () => {
  const { createSampleRing, SampleRingReader, SampleRingWriter, ItemFlags } = await import(new URL('packages/core/dist/index.js', root).href);
  const alsa = load(new URL('packages/source-audio/native', root).pathname);
  const dir = mkdtempSync(join(tmpdir(), 'sf-arm64-capture-'));
  try {
    const frames = 9600, channels = 2, bpf = 4;
    const pcm = noiseBytes((frames + 4096) * bpf, 99);
    const infile = join(dir, 'in.raw');
    writeFileSync(infile, pcm);
    const info = alsa.open(`senseflow_file:INFILE=${infile}`, 48000, channels, 's16le', 256, 1024);
    const sab = createSampleRing({ channels, rate: 48000, format: 's16le', capacityFrames: 4096 }); // wraps twice
    const w = new SampleRingWriter(sab);
    const reader = new SampleRingReader(sab, { from: 'oldest' });
    const out = new Float64Array(alsa.readOutSlots);
    alsa.target(info.id, new Uint8Array(sab), out);
    alsa.start(info.id);
    const seen = [];
    for (let tries = 0; seen.length < 1 || w.framesWritten < BigInt(frames); tries++) {
      assert.ok(tries < 1000, 'capture() stopped bringing frames');
      const flags = w.nativeBegin();
      const rc = alsa.capture(info.id, 1024, 1000, 0, true, flags); // deadline 0: one chunk per call
      w.nativeDone(out[6], out[11]);
      assert.ok(rc === 1 || rc === 0, `capture returned ${rc}`);
      for (let c = reader.next(); c; c = reader.next()) {
        const at = Number(c.startFrame) * bpf;
        assert.deepEqual(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength), new Uint8Array(pcm.subarray(at, at + c.frames * bpf)));
        assert.equal(c.flags & ItemFlags.DISCONTINUITY, 0);
        seen.push(c);
      }
    }
    alsa.close(info.id);
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i].startFrame, seen[i - 1].startFrame + BigInt(seen[i - 1].frames));
    // Captured before it was received, and in order.
    for (let i = 0; i < seen.length; i++) {
      assert.ok(seen[i].captureNs <= seen[i].receiveNs, `chunk ${i}: captured after it was received`);
      if (i) assert.ok(seen[i].captureNs >= seen[i - 1].captureNs, `chunk ${i}: capture time went back`);
    }
    const t = alsa.chunkTime(10_000_000_000n, 96, 96, 10_001_000_000n, 480, 48000, 2_000_000_000n);
    assert.deepEqual(t, { captureNs: 10_000_000_000n - 12_000_000n, fallback: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
