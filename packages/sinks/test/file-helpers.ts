// Helpers for the file-sink and recording tests: tool checks that skip locally but fail in CI, and
// ffprobe/sox readers.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Names the missing tools; in CI (process.env.CI) a missing tool is an error, not a skip. */
export function requireTools(...tools: string[]): string | null {
  const missing = tools.filter((t) => !has(t));
  if (missing.length === 0) return null;
  const msg = `missing ${missing.join(', ')} (apt-get install ffmpeg sox)`;
  if (process.env.CI) throw new Error(msg);
  return msg;
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `sf-${prefix}-`));

/** Packet timestamps (seconds) of the first video stream. */
export function videoPts(file: string): number[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file]).toString();
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}

export function probe(file: string): { streams: Record<string, string>[]; format: Record<string, string> } {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]).toString());
}

/** Duration of a WAV as sox reads it (from its header). */
export function soxSeconds(file: string): number {
  return Number(execFileSync('soxi', ['-D', file]).toString().trim());
}

/** Mono s16 samples of a file's first audio stream, decoded by ffmpeg, and that stream's start time. */
export function decodeAudio(file: string, rate = 48000): { samples: Int16Array; start: number } {
  const start = Number(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', file]).toString()) || 0;
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a:0', '-f', 's16le', '-ac', '1', '-ar', String(rate), '-'], { maxBuffer: 1 << 30 });
  return { samples: new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2), start };
}

/** Per-frame (pts seconds, mean luma) of a file's video, via ffmpeg's signalstats. */
export function frameLuma(file: string): [number, number][] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', `movie=${file},signalstats`, '-show_entries', 'frame=pts_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0']).toString();
  return out
    .trim()
    .split('\n')
    .map((l) => l.split(',').map(Number) as [number, number]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
