/**
 * Merge a session's video and audio into one file, aligned by capture time. Runs after the recording
 * (off the capture path) as one ffmpeg process: video is copied as recorded, audio is placed at its first
 * sample's capture time plus `latencyBias`, both relative to the session origin.
 */
import { spawn } from 'node:child_process';
import { isAbsolute, join, relative } from 'node:path';
import { CanceledError, InvalidOptionError, IOError } from '@senseflow/core';
import { checkFfmpeg } from '../file/video-out.js';
import { readManifest, writeManifest, type ManifestStream, type MergedInfo } from './manifest.js';

export interface MergeProgress {
  /** 0…1 of the output's expected duration. */
  fraction: number;
  outTimeS: number;
}

export interface MergeOptions {
  /** Seconds added to the audio's capture times (positive: audio later). Default 0. */
  latencyBias?: number;
  /** Output file, relative to the session directory or absolute (default `merged.mp4`; `.mkv`/`.mov` work too). */
  output?: string;
  /** Stream names to merge (default: the first video and the first audio stream of the session). */
  video?: string;
  audio?: string;
  /** Audio codec (default `aac` for .mp4, `pcm_s16le`… as recorded for .mkv/.mov). */
  audioCodec?: string;
  onProgress?: (p: MergeProgress) => void;
  signal?: AbortSignal;
  ffmpegPath?: string;
}

function pick(streams: ManifestStream[], kind: 'video' | 'audio', name?: string): ManifestStream {
  const s = name ? streams.find((x) => x.name === name) : streams.find((x) => x.kind === kind && x.items > 0);
  if (!s || s.kind !== kind || s.firstCaptureNs === null)
    throw new InvalidOptionError(kind, `the name of a recorded ${kind} stream with data (have: ${streams.map((x) => `${x.name}:${x.kind}`).join(', ') || 'none'})`, name ?? '(none found)');
  return s;
}

const pcmCodec = (fmt: string) => (fmt === 'f32le' ? 'pcm_f32le' : fmt === 's32le' ? 'pcm_s32le' : 'pcm_s16le');

/**
 * Merges the session in `dir` into one file and records it in session.json (`merged`).
 *
 * @example
 * ```ts
 * const info = await merge('rec', { latencyBias: 0.02, onProgress: (p) => console.log(p.fraction) });
 * // info.file === 'merged.mp4'
 * ```
 */
export async function merge(dir: string, opts: MergeOptions = {}): Promise<MergedInfo> {
  const m = readManifest(dir);
  const bias = opts.latencyBias ?? 0;
  if (!Number.isFinite(bias) || Math.abs(bias) > 60) throw new InvalidOptionError('latencyBias', 'a number of seconds from -60 to 60', bias);
  const v = pick(m.streams, 'video', opts.video);
  const a = pick(m.streams, 'audio', opts.audio);
  const ffmpeg = opts.ffmpegPath ?? 'ffmpeg';
  checkFfmpeg(ffmpeg);
  const output = opts.output ?? 'merged.mp4';
  const outPath = isAbsolute(output) ? output : join(dir, output);
  const origin = BigInt(m.clock.monotonicNs);
  // Video timestamps in the file are already capture time − origin. The WAV's sample 0 was captured at firstCaptureNs.
  const vStart = Number(BigInt(v.firstCaptureNs!) - origin) / 1e9;
  const aStart = Number(BigInt(a.firstCaptureNs!) - origin) / 1e9 + bias;
  const t0 = Math.min(vStart, aStart); // shift both so the output starts near 0, keeping their offset exactly
  const vEnd = Number(BigInt(v.lastCaptureNs!) - origin) / 1e9;
  const spec = a.spec.kind === 'audio' ? a.spec : null;
  const aEnd = aStart + (a.frames ?? 0) / (spec?.rate ?? 48000);
  const total = Math.max(vEnd, aEnd) - t0;
  const mp4 = /\.(mp4|m4v)$/i.test(outPath);
  const audioCodec = opts.audioCodec ?? (mp4 ? 'aac' : pcmCodec(spec?.format ?? 's16le'));
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-copyts',
    '-itsoffset', (-t0).toFixed(9), '-i', join(dir, v.file),
    '-itsoffset', (aStart - t0).toFixed(9), '-i', join(dir, a.file),
    '-map', '0:v:0', '-map', '1:a:0',
    '-c:v', 'copy', '-c:a', audioCodec,
    ...(mp4 ? ['-movflags', '+faststart'] : []),
    '-progress', 'pipe:1', '-nostats',
    outPath,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-2000)));
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const mm = /^out_time_us=(\d+)/.exec(line);
        if (mm && opts.onProgress) {
          const t = Number(mm[1]) / 1e6;
          opts.onProgress({ outTimeS: t, fraction: total > 0 ? Math.min(1, t / total) : 1 });
        }
      }
    });
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => reject(new IOError(`cannot run ${ffmpeg}: ${e.message}`, { ffmpegPath: ffmpeg }, { cause: e })));
    child.on('exit', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) reject(new CanceledError('merge canceled'));
      else if (code === 0) resolve();
      else reject(new IOError(`merging into ${outPath} failed: ${err.trim().split('\n').slice(-2).join(' | ') || `ffmpeg exit ${code}`}`, { path: outPath }));
    });
  });
  opts.onProgress?.({ outTimeS: total, fraction: 1 });
  const info: MergedInfo = {
    file: isAbsolute(output) ? relative(dir, outPath) : output,
    video: v.name,
    audio: a.name,
    latencyBias: bias,
    createdAt: new Date().toISOString(),
  };
  writeManifest(dir, { ...readManifest(dir), merged: info });
  return info;
}
