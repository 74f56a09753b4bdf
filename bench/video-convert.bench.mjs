// Pixel conversion and MJPEG decode: senseflow's native one-pass kernels versus OpenCV (cv2.cvtColor /
// cv2.imdecode, one thread, timed inside python), libyuv (YUY2ToARGB + ARGBToRAW/RGB24 row by row, YUY2ToY;
// Debian libyuv-dev, a small C harness compiled here) and libjpeg-turbo's own tjDecompress2 (same), on the
// same inputs, in one run. Real content (ffmpeg testsrc2) and noise (worst case for branchy code and for
// JPEG entropy decoding). Prints ms per frame and speeds relative to OpenCV (OpenCV ms ÷ ms: above 1 =
// faster than OpenCV), the date and the load average before and after.
//   node bench/video-convert.bench.mjs [--quick] [--json out.json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { loadAverage } from './load.mjs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { convertFrame } from '@senseflow/source-video';
import { noiseBytes } from '../tools/fixtures/noise.mjs';

const quick = process.argv.includes('--quick');
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : null;
const ITER = quick ? 20 : 100;
const SIZES = { '720p': [1280, 720], '1080p': [1920, 1080] };
const PY = '/usr/bin/python3'; // the system python has python3-opencv
const work = mkdtempSync(join(tmpdir(), 'sf-bench-video-'));
const loadBefore = loadAverage();
const fmt = (x) => (x == null ? '   –  ' : x.toFixed(3).padStart(7));

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout;
}
const have = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;


/** Best ms per call over ITER calls (after a warm-up): the minimum is the least disturbed by other load. */
function timeMs(fn) {
  for (let i = 0; i < 5; i++) fn();
  let best = Infinity;
  for (let i = 0; i < ITER; i++) {
    const a = performance.now();
    fn();
    best = Math.min(best, performance.now() - a);
  }
  return best;
}

// ---- inputs -------------------------------------------------------------------------------------
const inputs = {};
for (const [size, [w, h]] of Object.entries(SIZES)) {
  const real = join(work, `real-${size}`);
  sh('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuyv422', `${real}.yuyv`]);
  sh('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}`, '-frames:v', '1', '-q:v', '3', `${real}.jpg`]);
  const nz = join(work, `noise-${size}`);
  writeFileSync(`${nz}.yuyv`, noiseBytes(w * h * 2, 7));
  writeFileSync(`${nz}.rgb`, noiseBytes(w * h * 3, 9));
  sh('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-i', `${nz}.rgb`, '-frames:v', '1', '-q:v', '3', `${nz}.jpg`]);
  inputs[size] = { w, h, real, noise: nz };
}

// ---- senseflow ----------------------------------------------------------------------------------
const rows = [];
const OPS = [
  ['yuyv→rgb24', 'yuyv', 'rgb24', 'COLOR_YUV2RGB_YUYV'],
  ['yuyv→bgr24', 'yuyv', 'bgr24', 'COLOR_YUV2BGR_YUYV'],
  ['yuyv→gray8', 'yuyv', 'gray8', 'COLOR_YUV2GRAY_YUYV'],
  ['mjpeg→rgb24', 'mjpeg', 'rgb24', null],
];
for (const [size, { w, h, real, noise: nz }] of Object.entries(inputs)) {
  for (const [content, base] of [['real', real], ['noise', nz]]) {
    for (const [op, from, to, cv] of OPS) {
      const file = `${base}.${from === 'mjpeg' ? 'jpg' : 'yuyv'}`;
      const data = new Uint8Array(readFileSync(file));
      const dst = new Uint8Array(new SharedArrayBuffer(w * h * 4)); // a ring slot stand-in
      const ms = timeMs(() => convertFrame({ data, pixelFormat: from, width: w, height: h }, to, dst));
      rows.push({ size, content, op, from, to, file, w, h, cv, senseflow: ms, opencv: null, libyuv: null, turbojpeg: null });
    }
  }
}

// ---- OpenCV (one thread, timed inside python) ----------------------------------------------------
if (have(PY, ['-c', 'import cv2, numpy'])) {
  const script = `
import cv2, json, sys, time, numpy as np
cv2.setNumThreads(1)
jobs = json.load(sys.stdin); out = []
for j in jobs:
    if j['cv']:
        src = np.fromfile(j['file'], np.uint8).reshape(j['h'], j['w'], 2); code = getattr(cv2, j['cv'])
        f = lambda: cv2.cvtColor(src, code)
    else:
        buf = np.fromfile(j['file'], np.uint8)
        f = lambda: cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) if j['rgb'] else cv2.imdecode(buf, cv2.IMREAD_COLOR)
    for _ in range(5): f()
    t = []
    for _ in range(j['iter']):
        a = time.perf_counter(); f(); t.append((time.perf_counter() - a) * 1000)
    out.append(min(t))
print(json.dumps(out))`;
  const jobs = rows.map((r) => ({ file: r.file, w: r.w, h: r.h, cv: r.cv, iter: ITER, rgb: false }));
  const res = JSON.parse(sh(PY, ['-c', script], { input: JSON.stringify(jobs) }));
  rows.forEach((r, i) => (r.opencv = res[i]));
} else console.error('OpenCV baseline skipped: /usr/bin/python3 cannot import cv2 (apt-get install python3-opencv)');

// ---- libjpeg-turbo tjDecompress2 straight (C, -O2) ------------------------------------------------
const harness = join(work, 'tjbench');
const C = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <turbojpeg.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void* a, const void* b) { double d = *(double*)a - *(double*)b; return d < 0 ? -1 : d > 0; }
int main(int argc, char** argv) {
  FILE* f = fopen(argv[1], "rb"); int iter = atoi(argv[2]); fseek(f, 0, SEEK_END); long n = ftell(f); rewind(f);
  unsigned char* jpg = malloc(n); if (fread(jpg, 1, n, f) != (size_t)n) return 1; fclose(f);
  tjhandle tj = tjInitDecompress(); int w, h, ss, cs; tjDecompressHeader3(tj, jpg, n, &w, &h, &ss, &cs);
  unsigned char* out = malloc((size_t)w * h * 3); double* t = malloc(sizeof(double) * iter);
  for (int i = 0; i < 5; i++) tjDecompress2(tj, jpg, n, out, w, 0, h, TJPF_RGB, 0);
  for (int i = 0; i < iter; i++) { double a = now(); tjDecompress2(tj, jpg, n, out, w, 0, h, TJPF_RGB, 0); t[i] = now() - a; }
  qsort(t, iter, sizeof(double), cmp); printf("%f\\n", t[0]); return 0;
}`;
writeFileSync(`${harness}.c`, C);
if (have('cc', ['-O2', '-o', harness, `${harness}.c`, '-lturbojpeg'])) {
  for (const r of rows.filter((x) => x.op.startsWith('mjpeg'))) r.turbojpeg = Number(sh(harness, [r.file, String(ITER)]));
} else console.error('tjDecompress2 baseline skipped: cannot compile against libturbojpeg (apt-get install libturbojpeg0-dev)');

// ---- libyuv (C, -O2): the candidate portable path (NEON on arm64, AVX2 on x86) ------------------------
// libyuv's "ARGB" is B,G,R,A in memory, its "RGB24" is B,G,R and "RAW" is R,G,B. 3-byte outputs go through
// one ARGB row that stays in L1, the way a one-pass kernel would use it.
const yuvHarness = join(work, 'yuvbench');
const YUV_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libyuv.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
int main(int argc, char** argv) {
  int w = atoi(argv[2]), h = atoi(argv[3]), iter = atoi(argv[5]); const char* to = argv[4];
  size_t n = (size_t)w * h * 2; unsigned char* src = malloc(n); FILE* f = fopen(argv[1], "rb");
  if (fread(src, 1, n, f) != n) return 1; fclose(f);
  unsigned char* dst = malloc((size_t)w * h * 4); unsigned char* row = malloc((size_t)w * 4);
  double best = 1e9;
  for (int i = -5; i < iter; i++) {
    double a = now();
    if (!strcmp(to, "gray8")) YUY2ToY(src, w * 2, dst, w, w, h);
    else for (int y = 0; y < h; y++) {
      YUY2ToARGB(src + (size_t)y * w * 2, w * 2, row, w * 4, w, 1);
      if (!strcmp(to, "rgb24")) ARGBToRAW(row, w * 4, dst + (size_t)y * w * 3, w * 3, w, 1);
      else ARGBToRGB24(row, w * 4, dst + (size_t)y * w * 3, w * 3, w, 1);
    }
    double t = now() - a; if (i >= 0 && t < best) best = t;
  }
  if (argc > 6) { FILE* o = fopen(argv[6], "wb"); fwrite(dst, 1, (size_t)w * h * (strcmp(to, "gray8") ? 3 : 1), o); fclose(o); }
  printf("%f\\n", best); return 0;
}`;
writeFileSync(`${yuvHarness}.c`, YUV_C);
if (have('cc', ['-O2', '-o', yuvHarness, `${yuvHarness}.c`, '-lyuv'])) {
  for (const r of rows.filter((x) => x.from === 'yuyv')) {
    const out = join(work, 'libyuv.out');
    r.libyuv = Number(sh(yuvHarness, [r.file, String(r.w), String(r.h), r.to, String(ITER), out]));
    // How far libyuv's pixels are from senseflow's (which match OpenCV within ±1, see convert.test.ts).
    const mine = convertFrame({ data: new Uint8Array(readFileSync(r.file)), pixelFormat: 'yuyv', width: r.w, height: r.h }, r.to);
    const theirs = readFileSync(out);
    let max = 0, over1 = 0;
    for (let i = 0; i < mine.length; i++) {
      const d = Math.abs(mine[i] - theirs[i]);
      if (d > max) max = d;
      if (d > 1) over1++;
    }
    r.libyuvDiff = { max, over1Pct: (100 * over1) / mine.length };
  }
} else console.error('libyuv baseline skipped: cannot compile against libyuv (apt-get install libyuv-dev)');

// ---- report -------------------------------------------------------------------------------------
const loadAfter = loadAverage();
console.log(`video conversion, ${new Date().toISOString()}, ${arch()}, load average before ${loadBefore}, after ${loadAfter}`);
console.log(`ms per frame (best of ${ITER}, all timed the same way); ×cv = speed relative to OpenCV single-thread (OpenCV ms ÷ ms, > 1: faster)`);
console.log('size   content op            senseflow  ×cv   libyuv   ×cv    opencv  tjDecomp  sf÷tj');
for (const r of rows) {
  const x = (ms) => (ms && r.opencv ? (r.opencv / ms).toFixed(2).padStart(5) : '   – ');
  const tj = r.turbojpeg ? (r.senseflow / r.turbojpeg).toFixed(2).padStart(5) : '   – ';
  console.log(
    `${r.size.padEnd(6)} ${r.content.padEnd(7)} ${r.op.padEnd(13)} ${fmt(r.senseflow)} ${x(r.senseflow)} ${fmt(r.libyuv)} ${x(r.libyuv)}  ${fmt(r.opencv)}  ${fmt(r.turbojpeg)}  ${tj}`,
  );
}
console.log('libyuv pixels vs senseflow\'s (= OpenCV ±1): max |difference|, share of samples differing by more than 1');
for (const r of rows.filter((x) => x.libyuvDiff))
  console.log(`${r.size.padEnd(6)} ${r.content.padEnd(7)} ${r.op.padEnd(13)} max ${String(r.libyuvDiff.max).padStart(3)}  ${r.libyuvDiff.over1Pct.toFixed(2).padStart(6)} %`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), loadBefore, loadAfter, iter: ITER, rows: rows.map(({ file, ...r }) => r) }, null, 2));
rmSync(work, { recursive: true, force: true });
