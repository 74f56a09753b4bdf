import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IOError, monotonicNs, openSource, SenseflowError, type Source } from '@senseflow/core';
import { openTone } from '@senseflow/source-audio';
import { decodePattern, openTestPattern, patternGeometry } from '@senseflow/source-video';
import { MkvWriter, openFileSink, parseWavHeader, wavHeader, wavHeaderBytes, type FileSinkEvent } from '@senseflow/sinks';
import { fixture, probe, requireTools, sleep, soxSeconds, tempDir, videoPts } from './file-helpers.js';

const missing = requireTools('ffmpeg', 'ffprobe', 'soxi');
const open: Source[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((s) => s.close()));
});
const keep = <S extends Source>(s: S) => (open.push(s), s);

describe('WAV headers', { timeout: 120_000 }, () => {
  it('plain RIFF under 4 GiB, with a JUNK reserve the size of ds64', () => {
    const fmt = { rate: 48000, channels: 2, format: 's16le' as const };
    const h = wavHeader(fmt, 1000);
    expect(h.toString('latin1', 0, 4)).toBe('RIFF');
    expect(h.toString('latin1', 12, 16)).toBe('JUNK');
    expect(h.length).toBe(wavHeaderBytes(fmt));
    expect(parseWavHeader(h)).toMatchObject({ ...fmt, dataBytes: 1000, dataOffset: h.length });
  });

  it('switches to RF64 in place past 4 GiB, same header length, 64-bit sizes', () => {
    const fmt = { rate: 48000, channels: 8, format: 's32le' as const };
    const big = 5 * 2 ** 30;
    const h = wavHeader(fmt, big);
    expect(h.toString('latin1', 0, 4)).toBe('RF64');
    expect(h.toString('latin1', 12, 16)).toBe('ds64');
    expect(h.length).toBe(wavHeaderBytes(fmt));
    expect(parseWavHeader(h)).toMatchObject({ ...fmt, dataBytes: big });
  });

  it.skipIf(!!missing)(`sox reads float and multichannel headers ${missing ? `(skipped: ${missing})` : ''}`, () => {
    const dir = tempDir('wavhdr');
    for (const [format, channels] of [['f32le', 1], ['s32le', 6], ['s16le', 2]] as const) {
      const fmt = { rate: 8000, channels, format };
      const data = Buffer.alloc(8000 * channels * (format === 's16le' ? 2 : 4));
      const f = join(dir, `${format}-${channels}.wav`);
      writeFileSync(f, Buffer.concat([wavHeader(fmt, data.length), data]));
      expect(soxSeconds(f)).toBeCloseTo(1, 3);
      expect(execFileSync('soxi', ['-c', f]).toString().trim()).toBe(String(channels));
    }
  });
});

describe('Matroska writer', { timeout: 120_000 }, () => {
  it.skipIf(!!missing)(`stores every frame at its own microsecond timestamp ${missing ? `(skipped: ${missing})` : ''}`, () => {
    const dir = tempDir('mkv');
    const mkv = new MkvWriter({ codecId: 'V_UNCOMPRESSED', width: 32, height: 16, pixelFormat: 'gray8' });
    const pts = [0, 33_333, 70_001, 1_500_000, 1_533_334, 4_000_000]; // irregular, and gaps longer than a cluster
    const parts = [mkv.header()];
    for (const t of pts) parts.push(mkv.frameHead(t, 512, true), Buffer.alloc(512, 100));
    const f = join(dir, 'raw.mkv');
    writeFileSync(f, Buffer.concat(parts));
    expect(videoPts(f)).toEqual(pts.map((t) => t / 1e6));
    expect(probe(f).streams[0]).toMatchObject({ codec_name: 'rawvideo', pix_fmt: 'gray', width: 32, height: 16 });
  });
});

describe('FileSink', { timeout: 120_000 }, () => {
  it.skipIf(!!missing)(`audio → WAV with a sidecar row per chunk and the header valid while recording ${missing ? `(skipped: ${missing})` : ''}`, async () => {
    const dir = tempDir('wav');
    const mic = keep(await openTone({ rate: 16000, channels: 1, frequency: 500 }, { autoStart: false }));
    const sink = await openFileSink(mic, { dir, name: 'mic' });
    await mic.start();
    await sleep(1300);
    // Mid-recording the header already describes (almost) everything written so far.
    const mid = parseWavHeader(readFileSync(join(dir, 'mic.wav')).subarray(0, 200));
    expect(mid.dataBytes).toBeGreaterThan(16000 * 2 * 0.5);
    await mic.stop();
    const s = await sink.stop();
    expect(s.storage).toBe('wav');
    expect(s.error).toBeNull();
    const secs = soxSeconds(join(dir, 'mic.wav'));
    expect(secs).toBeCloseTo(s.frames / 16000, 4);
    const rows = readFileSync(join(dir, 'mic.timestamps.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('seq,startFrame,frames,captureNs,receiveNs,fileFrame,flags');
    expect(rows.length - 1).toBe(s.items);
    // fileFrame runs continuously and capture times step by frames / rate.
    const r = rows.slice(1).map((l) => l.split(','));
    for (let i = 1; i < r.length; i++) {
      expect(Number(r[i][5])).toBe(Number(r[i - 1][5]) + Number(r[i - 1][2]));
      expect(BigInt(r[i][3]) - BigInt(r[i - 1][3])).toBe((BigInt(r[i - 1][2]) * 1_000_000_000n) / 16000n);
    }
    expect(r[0][3]).toBe(s.firstCaptureNs);
  });

  it.skipIf(!!missing)(`raw video → H.264 in Matroska carrying each frame's capture time ${missing ? `(skipped: ${missing})` : ''}`, async () => {
    const dir = tempDir('vid');
    const cam = keep(await openTestPattern({ width: 320, height: 240, fps: 25, pixelFormat: 'rgb24', slots: 50 }, { autoStart: false }));
    const sink = await openFileSink(cam, { dir, name: 'cam' });
    const origin = sink.originNs!;
    await cam.start();
    await sleep(2000);
    await cam.stop();
    const s = await sink.stop();
    expect(s.storage).toBe('ffmpeg:libx264');
    const st = probe(join(dir, 'cam.mkv')).streams[0];
    expect(st).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    const pts = videoPts(join(dir, 'cam.mkv'));
    expect(pts.length).toBe(s.items);
    // Each packet's time is its frame's capture time since the origin (Matroska from ffmpeg keeps ms).
    const rows = readFileSync(join(dir, 'cam.timestamps.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows.length).toBe(s.items);
    rows.forEach((r, i) => expect(Math.abs(pts[i] - Number(BigInt(r[2]) - origin) / 1e9)).toBeLessThanOrEqual(0.0005 + 1e-9));
    // The pixels are the frames we recorded: decode one and read its seq/capture barcode back.
    const mid = Math.floor(rows.length / 2);
    const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'cam.mkv'), '-vf', `select=eq(n\\,${mid})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    const got = decodePattern(new Uint8Array(rgb), patternGeometry(320, 240, 'rgb24'));
    expect(String(got.seq)).toBe(rows[mid][1]);
    expect(String(got.captureNs)).toBe(rows[mid][2]);
  });

  it.skipIf(!!missing)(`MJPEG frames are stored as they are, at their capture times ${missing ? `(skipped: ${missing})` : ''}`, async () => {
    // A tiny source of real JPEG frames (made once by ffmpeg), committed at chosen capture times.
    const dir = tempDir('mjpeg');
    const jpeg = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=1', '-frames:v', '1', '-f', 'mjpeg', '-']);
    writeFileSync(join(dir, 'frame.jpg'), jpeg);
    const cam = keep(await openSource(fixture('jpeg-source.mjs'), { file: join(dir, 'frame.jpg'), frames: 20, fps: 20 }, { autoStart: false }));
    const sink = await openFileSink(cam, { dir, name: 'cam' });
    const origin = sink.originNs!;
    await cam.start();
    await sleep(1500);
    await cam.stop();
    const s = await sink.stop();
    expect(s.storage).toBe('mjpeg-passthrough');
    expect(s.items).toBe(20);
    const pts = videoPts(join(dir, 'cam.mkv'));
    const rows = readFileSync(join(dir, 'cam.timestamps.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    // Microsecond timestamps: exact to the µs.
    rows.forEach((r, i) => expect(Math.round(pts[i] * 1e6)).toBe(Math.round(Number(BigInt(r[2]) - origin) / 1000)));
    const copy = execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'cam.mkv'), '-frames:v', '1', '-c', 'copy', '-f', 'mjpeg', '-']);
    expect(Buffer.compare(copy, jpeg)).toBe(0);
  });

  it('records → NDJSON and CSV with named columns', async () => {
    const dir = tempDir('rec');
    const stats = keep(await openSource(fixture('counter-records.mjs'), { hz: 50 }, { autoStart: false }));
    const sink = await openFileSink(stats, { dir, name: 'stats' });
    await stats.start();
    await sleep(600);
    await stats.stop();
    const s = await sink.stop();
    expect(s.items).toBeGreaterThan(5);
    const csv = readFileSync(join(dir, 'stats.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('seq,captureNs,receiveNs,n,half');
    expect(csv.length - 1).toBe(s.items);
    const nd = readFileSync(join(dir, 'stats.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(nd.length).toBe(s.items);
    for (const [i, r] of nd.entries()) {
      expect(r.half).toBe(r.n / 2);
      expect(typeof r.captureNs).toBe('string');
      expect(csv[i + 1].split(',')[3]).toBe(String(r.n));
    }
  });

  it.skipIf(!!missing)(`disk full: an IOError event, the source keeps running, the file stays valid ${missing ? `(skipped: ${missing})` : ''}`, async () => {
    const dir = tempDir('full');
    const mic = keep(await openTone({ rate: 8000, channels: 1 }, { autoStart: false }));
    // /dev/full accepts opens and fails every write with ENOSPC.
    const sink = await openFileSink(mic, { dir, name: 'mic', file: '../../../../../../dev/full' });
    const events: FileSinkEvent[] = [];
    sink.events$.subscribe((e) => events.push(e));
    await mic.start();
    await sleep(500);
    const before = mic.latest()!.seq;
    await sleep(300);
    expect(mic.latest()!.seq).toBeGreaterThan(before); // capture goes on
    await mic.stop();
    const s = await sink.stop();
    const err = events.find((e) => e.type === 'error');
    expect(err && err.type === 'error' && err.error).toBeInstanceOf(IOError);
    expect(err && err.type === 'error' && err.error.message).toMatch(/disk full/);
    expect(s.failed).toBe(true);
    expect(s.drops.io).toBeGreaterThan(0); // what could not be stored is counted
  });

  // A real full filesystem: a 256 KiB tmpfs (needs root to mount).
  const tmpfsMissing = (() => {
    if (missing) return missing;
    const dir = tempDir('tmpfs-probe');
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
    if (ok) spawnSync('umount', [dir]);
    const why = ok ? null : 'cannot mount a tmpfs (run as root to enable)';
    if (why && process.env.CI) throw new Error(why);
    return why;
  })();
  it.skipIf(!!tmpfsMissing)(`disk full on a real filesystem: what was written stays a valid WAV ${tmpfsMissing ? `(skipped: ${tmpfsMissing})` : ''}`, async () => {
    const dir = tempDir('tmpfs');
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]).status).toBe(0);
    try {
      const mic = keep(await openTone({ rate: 48000, channels: 2 }, { autoStart: false }));
      const sink = await openFileSink(mic, { dir, name: 'mic' });
      const errors: FileSinkEvent[] = [];
      sink.events$.subscribe((e) => e.type === 'error' && errors.push(e));
      await mic.start();
      for (let i = 0; i < 60 && errors.length === 0; i++) await sleep(100); // 192 KB/s fills 256 KiB in ~1.3 s
      expect(errors.length).toBe(1);
      const before = mic.latest()!.seq;
      await sleep(300);
      expect(mic.latest()!.seq).toBeGreaterThan(before);
      await mic.stop();
      const s = await sink.stop();
      expect(s.error?.code).toBe('EIO');
      // The header was fixed up to what is on disk: sox reads it and its length matches the data.
      const h = parseWavHeader(readFileSync(join(dir, 'mic.wav')).subarray(0, 200));
      expect(h.dataOffset + h.dataBytes).toBe(statSync(join(dir, 'mic.wav')).size);
      expect(soxSeconds(join(dir, 'mic.wav'))).toBeGreaterThan(0.3);
    } finally {
      spawnSync('umount', ['-l', dir]);
    }
  });

  it('unwritable path: a typed error event, not a crash', async () => {
    const mic = keep(await openTone({ rate: 8000, channels: 1 }, { autoStart: false }));
    const sink = await openFileSink(mic, { dir: '/proc/no-such-dir', name: 'mic' });
    const events: FileSinkEvent[] = [];
    sink.events$.subscribe((e) => events.push(e));
    await mic.start();
    await sleep(200);
    await mic.stop();
    const s = await sink.stop();
    expect(s.failed).toBe(true);
    expect(s.error?.code).toBe('EIO');
    const e = events.find((x) => x.type === 'error');
    expect(e?.type === 'error' && SenseflowError.isInstance(e.error) && e.error.code).toBe('EIO');
  });

  it('starts at its origin: items captured before it are not part of the recording', async () => {
    const dir = tempDir('origin');
    const mic = keep(await openTone({ rate: 8000, channels: 1 }));
    await sleep(300);
    const sink = await openFileSink(mic, { dir, name: 'mic', deferStart: true });
    await sleep(200);
    const origin = monotonicNs();
    sink.start(origin);
    await sleep(300);
    await mic.stop();
    const s = await sink.stop();
    const first = BigInt(s.firstCaptureNs!);
    // The first stored chunk is the one that holds the origin (it ends after it).
    expect(first + (BigInt(mic.spec.kind === 'audio' ? mic.spec.periodFrames : 0) * 1_000_000_000n) / 8000n).toBeGreaterThan(origin);
    expect(s.drops).toEqual({});
  });
});
