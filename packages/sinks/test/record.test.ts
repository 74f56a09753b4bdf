import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { monotonicNs, openSource, type Source } from '@senseflow/core';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';
import { merge, readManifest, record, trimSilence, wavHeader, type SessionManifest } from '@senseflow/sinks';
import { decodeAudio, fixture, frameLuma, probe, requireTools, sleep, soxSeconds, tempDir, videoPts } from './file-helpers.js';

const missing = requireTools('ffmpeg', 'ffprobe', 'soxi');
const why = missing ? ` (skipped: ${missing})` : '';
const open: Source[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((s) => s.close()));
});
const keep = <S extends Source>(s: S) => (open.push(s), s);

/** Records video (flash) + audio (click) whose flash and click share one capture time: 1 s after t0. */
async function flashAndClick(dir: string): Promise<SessionManifest> {
  const t0 = new SharedArrayBuffer(8);
  const fps = 30;
  const vid = keep(await openSource(fixture('flash-source.mjs'), { t0, fps, flashAt: 30, frames: 60 }, { autoStart: false }));
  const aud = keep(await openSource(fixture('click-source.mjs'), { t0, clickAfterNs: '1000000000', seconds: 2 }, { autoStart: false }));
  const rec = await record({ dir, streams: { video: vid, audio: aud } });
  // Start the schedule a little after the origin, at an instant that is not a whole ms after it.
  new BigInt64Array(t0)[0] = monotonicNs() + 200_000_000n + 377_777n;
  await Promise.all([vid.start(), aud.start()]);
  await sleep(2700);
  await Promise.all([vid.stop(), aud.stop()]);
  return rec.stop();
}

/** Capture-time distance (s) between the flash frame and the click onset in a merged file. */
function flashToClick(file: string): number {
  const flash = frameLuma(file).find(([, y]) => y > 128);
  expect(flash).toBeDefined();
  const { samples, start } = decodeAudio(file);
  const onset = samples.findIndex((x) => Math.abs(x) > 4000); // the burst's 3rd sample at 1 kHz, 48 kHz: +42 µs
  expect(onset).toBeGreaterThan(0);
  return start + onset / 48000 - flash![0];
}

describe('recording session', { timeout: 120_000 }, () => {
  it.skipIf(!!missing)(`writes session.json describing every stream; frame counts match the files${why}`, async () => {
    const dir = tempDir('session');
    const video = keep(await openTestPattern({ width: 320, height: 240, fps: 25, pixelFormat: 'rgb24', slots: 50 }, { autoStart: false }));
    const audio = keep(await openTone({ rate: 48000, channels: 2 }, { autoStart: false }));
    const stats = keep(await openSource(fixture('counter-records.mjs'), { hz: 20 }, { autoStart: false }));
    const rec = await record({ dir, streams: { video, audio, stats }, devices: { audio: 'my tone' } });
    await Promise.all([video.start(), audio.start(), stats.start()]);
    await sleep(1500);
    // While recording, session.json already describes the streams (complete: false).
    const live = readManifest(dir);
    expect(live.complete).toBe(false);
    expect(live.streams.map((s) => s.name)).toEqual(['video', 'audio', 'stats']);
    await Promise.all([video.stop(), audio.stop(), stats.stop()]);
    const m = await rec.stop();
    expect(readManifest(dir)).toEqual(m);
    expect(m).toMatchObject({ version: 1, complete: true, merged: null, clock: { monotonicNs: String(rec.originNs) } });
    expect(Date.parse(m.clock.wallTime)).toBeGreaterThan(Date.now() - 60_000);
    const [v, a, s] = m.streams;
    expect(v).toMatchObject({ kind: 'video', file: 'video.mkv', timestamps: 'video.timestamps.csv', dropLedger: 'video.drops.ndjson', storage: 'ffmpeg:libx264', error: null });
    expect(a).toMatchObject({ kind: 'audio', device: 'my tone', file: 'audio.wav', storage: 'wav' });
    expect(s).toMatchObject({ kind: 'records', file: 'stats.ndjson', files: ['stats.ndjson', 'stats.csv'], storage: 'ndjson+csv' });
    for (const x of m.streams) {
      expect(typeof x.firstCaptureNs).toBe('string');
      expect(BigInt(x.lastCaptureNs!)).toBeGreaterThan(BigInt(x.firstCaptureNs!));
      expect(BigInt(x.firstCaptureNs!)).toBeGreaterThanOrEqual(BigInt(m.clock.monotonicNs) - 100_000_000n);
      for (const f of [...x.files, x.timestamps, x.dropLedger]) expect(existsSync(join(dir, f))).toBe(true);
    }
    // The container holds exactly the frames the manifest counts; the WAV exactly its frames.
    expect(videoPts(join(dir, 'video.mkv')).length).toBe(v.items);
    expect(soxSeconds(join(dir, 'audio.wav'))).toBeCloseTo(a.frames! / 48000, 4);
    expect(readFileSync(join(dir, 'stats.csv'), 'utf8').trim().split('\n').length - 1).toBe(s.items);
    // Drops in the manifest are what the ledger says.
    for (const x of m.streams) {
      const ledger = readFileSync(join(dir, x.dropLedger), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const sum: Record<string, number> = {};
      for (const e of ledger) if (e.cause) sum[e.cause] = (sum[e.cause] ?? 0) + e.count;
      expect(sum).toEqual(x.drops);
    }
  });

  it.skipIf(!!missing)(`merge: a flash and a click captured at the same instant land within 1 ms${why}`, async () => {
    const dir = tempDir('merge');
    const m = await flashAndClick(dir);
    expect(m.streams[0].items).toBe(60);
    const progress: number[] = [];
    const info = await merge(dir, { onProgress: (p) => progress.push(p.fraction) });
    expect(info).toMatchObject({ file: 'merged.mp4', video: 'video', audio: 'audio', latencyBias: 0 });
    expect(readManifest(dir).merged).toEqual(info);
    expect(progress.at(-1)).toBe(1);
    const st = probe(join(dir, 'merged.mp4')).streams.map((x) => x.codec_name);
    expect(st).toEqual(['h264', 'aac']);
    expect(Math.abs(flashToClick(join(dir, 'merged.mp4')))).toBeLessThanOrEqual(0.001);
    // PCM in MOV (no codec delay at all) agrees.
    await merge(dir, { output: 'merged.mov', audioCodec: 'pcm_s16le' });
    expect(Math.abs(flashToClick(join(dir, 'merged.mov')))).toBeLessThanOrEqual(0.001);
    // latencyBias moves the audio by exactly that much.
    await merge(dir, { output: 'late.mov', audioCodec: 'pcm_s16le', latencyBias: 0.25 });
    expect(Math.abs(flashToClick(join(dir, 'late.mov')) - 0.25)).toBeLessThanOrEqual(0.001);
  });

  it.skipIf(!!missing)(`kill -9 mid-recording: every file opens and covers all but ≤ 1 s${why}`, async () => {
    const dir = tempDir('kill');
    // Its own process group; ffmpeg has one of its own and is killed too (the harshest case).
    const child = spawn(process.execPath, [new URL('./fixtures/record-child.mjs', import.meta.url).pathname, dir], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const originNs = await new Promise<bigint>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (b) => {
        out += b;
        const m = /RECORDING (\d+)/.exec(out);
        if (m) resolve(BigInt(m[1]));
      });
      child.on('exit', (c) => reject(new Error(`recorder exited early (${c})`)));
    });
    await sleep(3500);
    const killNs = monotonicNs();
    const ffmpeg = execFileSync('pgrep', ['-P', String(child.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').map(Number);
    process.kill(-child.pid!, 'SIGKILL');
    for (const pid of ffmpeg) process.kill(pid, 'SIGKILL');
    await new Promise((r) => child.on('exit', r));
    await sleep(300);
    const recorded = Number(killNs - originNs) / 1e9;
    // Video: ffprobe reads it; frames reach to within 1 s of the kill.
    const pts = videoPts(join(dir, 'video.mkv'));
    expect(pts.length).toBeGreaterThan(10);
    expect(pts[0]).toBeLessThan(1);
    expect(pts.at(-1)!).toBeGreaterThan(recorded - 1);
    // Audio: the header (rewritten every 0.5 s) covers all but the last ≤ 1 s.
    expect(soxSeconds(join(dir, 'audio.wav'))).toBeGreaterThan(recorded - 1);
    // Records: every complete line parses; the last is from within 1 s of the kill.
    const lines = readFileSync(join(dir, 'stats.ndjson'), 'utf8').split('\n').filter(Boolean);
    const last = JSON.parse(lines.at(-1)!);
    expect(Number(BigInt(last.captureNs) - originNs) / 1e9).toBeGreaterThan(recorded - 1);
    // session.json was kept current: it exists, parses, and says the session did not finish.
    const m = readManifest(dir);
    expect(m.complete).toBe(false);
    expect(m.streams.map((s) => s.name)).toEqual(['video', 'audio', 'stats']);
  });

  it.skipIf(!!missing)(`trimSilence cuts long silences and maps what is kept to capture times${why}`, () => {
    const dir = tempDir('trim');
    const rate = 8000;
    // 0.5 s tone, 2 s silence, 0.5 s tone, 0.1 s silence (kept: shorter than minMs), 0.5 s tone.
    const parts = [0.5, -2, 0.5, -0.1, 0.5];
    const total = parts.reduce((a, b) => a + Math.abs(b), 0) * rate;
    const pcm = new Int16Array(total);
    let at = 0;
    for (const p of parts) {
      const n = Math.abs(p) * rate;
      if (p > 0) for (let i = 0; i < n; i++) pcm[at + i] = Math.round(10000 * Math.sin((2 * Math.PI * 440 * i) / rate));
      at += n;
    }
    const wav = join(dir, 'a.wav');
    writeFileSync(wav, Buffer.concat([wavHeader({ rate, channels: 1, format: 's16le' }, pcm.byteLength), Buffer.from(pcm.buffer)]));
    // A sidecar like a recording's: one chunk at capture time 1e9 ns.
    writeFileSync(join(dir, 'a.timestamps.csv'), `seq,startFrame,frames,captureNs,receiveNs,fileFrame,flags\n0,0,${total},1000000000,1000000000,0,0\n`);
    const r = trimSilence(wav, { thresholdDb: -40, minMs: 500, keepMs: 50 });
    const keep = 0.05 * rate;
    expect(r.removedFrames).toBe(2 * rate - 2 * keep);
    expect(soxSeconds(r.output)).toBeCloseTo((total - r.removedFrames) / rate, 4);
    expect(r.segments.map((s) => [s.srcFrame, s.frames])).toEqual([
      [0, 0.5 * rate + keep],
      [2.5 * rate - keep, total - (2.5 * rate - keep)],
    ]);
    expect(r.segments[1].captureNs).toBe(String(1_000_000_000 + ((2.5 * rate - keep) * 1e9) / rate));
    expect(readFileSync(r.segmentsFile, 'utf8').trim().split('\n')).toHaveLength(3);
  });
});
