/**
 * `senseflow record`: records any mix of a camera (or test pattern, or URL), a microphone (or tone, or
 * "what the computer plays") and system stats into one session directory.
 */
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import type { StreamSpec } from '@senseflow/core';
import { checkEncoder, openSessionDir } from '@senseflow/sinks';
import { parseFlags, positiveNumber } from '../args.js';
import { UsageError } from '../exit-codes.js';
import { INPUT_FLAGS, openInputs, planInputs, type InputFlags } from '../inputs.js';
import type { Out } from '../progress.js';
import { printSummary, runSession, type SessionStream } from '../session.js';
import { recordFormats } from '../mcap-input.js';

export const RECORD_HELP = `senseflow record [flags]

Records into one session directory: video.mkv, audio.wav, stats.ndjson + stats.csv, a timestamp
sidecar and a drop ledger per stream, and session.json describing them. Ctrl-C stops and finalizes.

Video:
  --video DEV|test|URL   a camera (/dev/video0 or an id from 'senseflow devices'), the test pattern,
                         or anything ffmpeg reads (file, http://, rtsp://);
                         mcap:FILE[#TOPIC] replays a channel of an MCAP file (see docs/interop.md)
  --size WxH             frame size, e.g. 1280x720
  --fps N                frames per second
  --pixel-format F       e.g. mjpeg (stored as is), yuyv, rgb24 (encoded to H.264 by ffmpeg)
  --codec NAME           ffmpeg encoder for raw video (default libx264; e.g. libx265, ffv1, mjpeg)
Audio:
  --audio PCM|default|test   an ALSA capture device (hw:1,0, default, pulse…) or the test tone;
                         mcap:FILE[#TOPIC] replays an audio channel of an MCAP file
  --loopback             record what the computer plays (sound server monitor)
  --rate N               sample rate in Hz (default 48000)
  --channels N           channels (default 2)
Stats:
  --stats                CPU, memory, load, network, disk, temperatures
  --stats-hz N           records per second (default 10)
Session:
  --duration S           stop after S seconds (default: until Ctrl-C)
  --merge                also write merged.mp4 (video + audio aligned by capture time)
  --format LIST          files (default), mcap (one session.mcap for Foxglove/Lichtblick), or files,mcap
  --out DIR              session directory (default: ./senseflow-YYYYMMDD-HHMMSS); must be empty or new
  --overwrite            record into a directory that already holds files
  --json                 print session.json instead of the summary
`;

export const stamp = (d = new Date()) =>
  `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}-${String(d.getHours()).padStart(2, '0')}${String(d.getMinutes()).padStart(2, '0')}${String(d.getSeconds()).padStart(2, '0')}`;

/**
 * Checks the session directory before any device opens: created if missing, writable, not in use by
 * another recorder, and empty unless `--overwrite`. Returns a cleanup that removes it again if it is still
 * empty (when opening the devices failed).
 */
export function prepareDir(dir: string, overwrite = false): () => void {
  const existed = existsSync(dir);
  try {
    // The same check record() makes (it takes the lock for the recording itself, synchronously at its start).
    openSessionDir(dir, overwrite).release();
  } catch (e) {
    const holds = (e as { details?: { holds?: string[] } }).details?.holds;
    if (holds) {
      const shown = holds.slice(0, 4).join(', ') + (holds.length > 4 ? `, … (${holds.length} files)` : '');
      throw new UsageError(
        `${dir} already holds ${holds.includes('session.json') ? 'a recording' : 'files'} (${shown}); choose another --out or add --overwrite`,
        holds.includes('session.lock') || holds.includes('session.json') ? `to fix a session left by a crash: senseflow repair ${dir}` : undefined,
      );
    }
    throw e;
  }
  return () => {
    try {
      if (!existed && readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      // leave it
    }
  };
}

/** Why the stored frame size differs from `--size`, if it does (odd sizes: yuyv pairs pixels, H.264/H.265 need 4:2:0). */
export function sizeNote(width: number | undefined, height: number | undefined, spec: StreamSpec | undefined, codec = 'libx264'): string | null {
  if (!spec || spec.kind !== 'video' || width === undefined || height === undefined) return null;
  const notes: string[] = [];
  if (spec.width !== width || spec.height !== height) notes.push(`--size ${width}x${height}: the source delivers ${spec.width}x${spec.height}${spec.width === width + 1 ? ` (${spec.pixelFormat} needs an even width)` : ''}`);
  const raw = !['mjpeg', 'jpeg'].includes(spec.pixelFormat);
  if (raw && ['libx264', 'libx265', 'h264_v4l2m2m'].includes(codec) && (spec.width % 2 || spec.height % 2))
    notes.push(`${codec} stores ${spec.width & ~1}x${spec.height & ~1} (4:2:0 needs even sizes; use an even --size or --codec ffv1)`);
  return notes.length ? notes.join('; ') : null;
}

interface RecordFlags extends InputFlags {
  codec?: string;
  overwrite?: boolean;
  duration?: string;
  merge?: boolean;
  format?: string;
  out?: string;
  json?: boolean;
  help?: boolean;
}

export async function recordCommand(o: Out, argv: string[]): Promise<number> {
  const v = parseFlags('record', argv, {
    ...INPUT_FLAGS,
    codec: { type: 'string' },
    duration: { type: 'string' },
    merge: { type: 'boolean' },
    format: { type: 'string' },
    out: { type: 'string' },
    overwrite: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }).values as RecordFlags;
  if (v.help) {
    o.out(RECORD_HELP);
    return 0;
  }
  const duration = positiveNumber('--duration', v.duration);
  const plan = planInputs(v, 'record', "e.g. 'senseflow record --video test --audio test --duration 5'", v.codec !== undefined ? ['--codec'] : []);
  if (v.codec !== undefined && !/^[\w-]+$/.test(v.codec)) throw new UsageError(`--codec expects an ffmpeg encoder name like libx264, got '${v.codec}'`);
  if (v.merge && (!plan.video || !plan.audio)) throw new UsageError('--merge needs both video (--video) and audio (--audio or --loopback)');
  // Raw video goes through ffmpeg: a codec it lacks fails now, not after recording (exit 6, with the choices).
  if (v.codec !== undefined) checkEncoder(v.codec);
  const format = recordFormats(v.format);
  if (v.merge && !format.includes('files')) throw new UsageError('--merge needs --format files (or files,mcap)');
  const dir = v.out ?? `senseflow-${stamp()}`;
  const unprepare = prepareDir(dir, !!v.overwrite);
  let streams: SessionStream[];
  try {
    streams = await openInputs(plan, 10);
  } catch (e) {
    unprepare();
    throw e;
  }
  for (const s of streams) o.err(`${s.name}: ${s.device}\n`);
  const shape = sizeNote(plan.video?.width, plan.video?.height, streams.find((s) => s.name === 'video')?.source.spec, v.codec);
  if (shape) o.err(`warning: ${shape}\n`);
  o.err(`recording into ${dir}/ — ${duration ? `${duration} s` : 'until Ctrl-C'}\n`);
  const r = await runSession(o, dir, streams, duration, !!v.merge, v.codec ? { codec: v.codec } : undefined, !!v.overwrite, format);
  if (v.json) o.out(JSON.stringify(r.manifest, null, 2) + '\n');
  else printSummary(o, r);
  return r.ioErrors.length ? 5 : 0;
}
