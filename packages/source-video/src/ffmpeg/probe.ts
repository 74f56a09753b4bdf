/**
 * Asks ffprobe what the input is (size, rate, codec) so `describe()` can size the ring before ffmpeg
 * runs, and asks ffmpeg its version (to pick the right command-line spelling).
 */
import { execFile } from 'node:child_process';
import { ffmpegFailure, ffmpegMissing } from './errors.js';
import type { FfmpegOptions } from './options.js';

export interface ProbeResult {
  width: number;
  height: number;
  /** Frames per second, 0 when the input does not say. */
  fps: number;
  /** ffmpeg's codec name of the video stream (`h264`, `mjpeg`, `rawvideo`, …). */
  codec: string;
}

function run(bin: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string; exit: string | null; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; signal?: string; code?: unknown }) | null;
      if (e && typeof e.code === 'string' && e.syscall?.startsWith('spawn')) return resolve({ stdout, stderr, exit: null, spawnError: e });
      const exit = !e ? null : e.killed ? `timed out after ${timeoutMs} ms` : e.signal ? `killed by ${e.signal}` : `exit code ${String(e.code)}`;
      resolve({ stdout, stderr, exit });
    });
  });
}

const rate = (s: string | undefined): number => {
  const [n, d] = (s ?? '0/0').split('/').map(Number);
  return d > 0 && Number.isFinite(n / d) ? n / d : 0;
};

/** Probes the input's first video stream. Rejects with DeviceNotFoundError / UnsupportedFormatError / NativeError. */
export async function probeInput(o: FfmpegOptions, timeoutMs = 20_000): Promise<ProbeResult> {
  const args = ['-hide_banner', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,avg_frame_rate,r_frame_rate', '-of', 'json'];
  if (o.format) args.push('-f', o.format);
  args.push(...o.inputOptions, '-i', o.input);
  const r = await run(o.ffprobePath, args, timeoutMs);
  if (r.spawnError) throw ffmpegMissing(o.ffprobePath, r.spawnError);
  const lines = r.stderr.split('\n').filter(Boolean);
  if (r.exit) throw ffmpegFailure('ffprobe', o.input, lines, r.exit);
  let stream: Record<string, unknown> | undefined;
  try {
    stream = (JSON.parse(r.stdout) as { streams?: Record<string, unknown>[] }).streams?.[0];
  } catch {
    stream = undefined;
  }
  if (!stream || !(Number(stream.width) > 0) || !(Number(stream.height) > 0))
    throw ffmpegFailure('ffprobe', o.input, [...lines, 'Output file #0 does not contain any stream (no video stream with a size found)'], 'no video stream');
  const avg = rate(stream.avg_frame_rate as string);
  return {
    width: Number(stream.width),
    height: Number(stream.height),
    fps: avg > 0 && avg < 1000 ? avg : rate(stream.r_frame_rate as string),
    codec: String(stream.codec_name ?? ''),
  };
}

/** ffmpeg's major.minor version ([99, 0] for git builds that do not say), cached per binary. */
const versions = new Map<string, Promise<[number, number]>>();
export function ffmpegVersion(bin: string): Promise<[number, number]> {
  let v = versions.get(bin);
  if (!v) {
    v = run(bin, ['-hide_banner', '-version'], 10_000).then((r) => {
      if (r.spawnError) throw ffmpegMissing(bin, r.spawnError);
      const m = /version\s+n?(\d+)\.(\d+)/.exec(r.stdout);
      return m ? [Number(m[1]), Number(m[2])] : [99, 0];
    });
    v.catch(() => versions.delete(bin));
    versions.set(bin, v);
  }
  return v;
}
