/**
 * Turns command-line choices into open sources: `--video DEV|test|URL`, `--audio PCM|default|test`,
 * `--loopback`, `--stats`. Sources are opened stopped (autoStart false) so recording starts them all at once.
 */
import { existsSync, statSync } from 'node:fs';
import { DeviceBusyError, DeviceNotFoundError, UnsupportedFormatError, type AudioSource, type HostOptions, type RecordsSource, type Source, type VideoSource } from '@senseflow/core';
import { AUDIO_LIMITS } from '@senseflow/source-audio/limits';
import { SYSSTATS_LIMITS } from '@senseflow/source-sysstats/limits';
import { VIDEO_LIMITS } from '@senseflow/source-video/limits';
import { numberInLimit, size } from './args.js';
import { UsageError } from './exit-codes.js';
import { alsaCaptureNode, describeHolders, deviceHolders } from './holders.js';
import { loadAudio, loadStats, loadVideo, type CameraLike } from './modules.js';
import { isMcapInput, openMcapInput } from './mcap-input.js';

/** How long a source may take to open (default 30 s; slow machines and emulators may need more). */
const openTimeoutMs = Number(process.env.SENSEFLOW_REQUEST_TIMEOUT_MS) > 0 ? Number(process.env.SENSEFLOW_REQUEST_TIMEOUT_MS) : 30_000;
const HOST: HostOptions = { autoStart: false, logLevel: 'silent', requestTimeoutMs: openTimeoutMs };

export interface VideoRequest {
  input: string;
  width?: number;
  height?: number;
  fps?: number;
  pixelFormat?: string;
}
export interface AudioRequest {
  input: string;
  loopback?: boolean;
  rate?: number;
  channels?: number;
}
export interface Opened<S> {
  source: S;
  /** What it is, for humans and the manifest. */
  device: string;
}

/**
 * Ring slots for recording: ~2 s of frames, so an encoder that is briefly busy (ffmpeg starting x264)
 * loses nothing; capped at ~64 MB of ring.
 */
export function recordingSlots(fps: number, frameBytes: number): number {
  return Math.max(8, Math.min(Math.ceil(fps * 2), Math.floor((64 << 20) / Math.max(1, frameBytes)), 240));
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** Adds "held by …" to a busy error when /proc tells us who. */
function withHolders(e: unknown, node: string | null): unknown {
  if ((e as { code?: string })?.code !== 'EBUSY' || !node) return e;
  const h = deviceHolders(node);
  if (h.length === 0) return e;
  return new DeviceBusyError(`${(e as Error).message.replace(/\.$/, '')} (held by ${describeHolders(h)})`, { holders: h, device: node });
}

/** The format to ask a camera for when the user did not say: MJPEG (stored as is), else YUYV (cheap to encode). */
export function preferredCameraFormat(cam: CameraLike | undefined): string | undefined {
  const fmts = new Set(cam?.formats.map((f) => f.pixelFormat) ?? []);
  if (fmts.has('mjpeg')) return 'mjpeg';
  if (fmts.has('yuyv')) return 'yuyv';
  return undefined;
}

export async function openVideo(req: VideoRequest): Promise<Opened<VideoSource>> {
  if (isMcapInput(req.input)) return openMcapInput(req.input, 'video', HOST);
  const v = await loadVideo();
  if (!v.mod) throw new UnsupportedFormatError(v.error);
  const size = { width: req.width, height: req.height, fps: req.fps };
  if (req.input === 'test') {
    const fps = req.fps ?? 30;
    const width = req.width ?? 640;
    const height = req.height ?? 480;
    const source = await v.mod.openTestPattern({ width, height, fps, pixelFormat: req.pixelFormat ?? 'yuyv', slots: recordingSlots(fps, width * height * 4) }, HOST);
    return { source, device: source.spec.description ?? 'test pattern' };
  }
  if (isUrl(req.input) || (existsSync(req.input) && statSync(req.input).isFile())) {
    if (!v.mod.openFfmpeg) throw new UnsupportedFormatError(`reading '${req.input}' needs the ffmpeg backend of @senseflow/source-video, which this build does not have`);
    const source = await v.mod.openFfmpeg({ input: req.input, ...size, pixelFormat: req.pixelFormat ?? 'rgb24', slots: 16 }, HOST);
    return { source, device: source.spec.description ?? req.input };
  }
  if (!v.mod.openCamera) throw new UnsupportedFormatError('camera capture needs the V4L2 addon of @senseflow/source-video, which this build does not have (try: pnpm build)');
  const isPath = req.input.startsWith('/') || req.input.startsWith('.') || /\.\w{2,4}$/.test(req.input);
  if (isPath && !existsSync(req.input)) {
    // A camera node under /dev, or a file: say which one is missing.
    if (!req.input.startsWith('/dev/'))
      throw new DeviceNotFoundError(`no such file: ${req.input} (--video takes a camera, 'test', an existing file or a URL)`, { device: req.input });
    const nodes = v.mod.videoNodes?.() ?? [];
    throw new DeviceNotFoundError(`no such camera: ${req.input} (${nodes.length ? `present: ${nodes.join(', ')}` : 'no /dev/video* found'})`, { device: req.input });
  }
  let cam: CameraLike | undefined;
  try {
    cam = v.mod.listCameras?.().find((c) => c.path === req.input || c.id === req.input);
  } catch {
    // listing is only a hint for the default format
  }
  try {
    const source = await v.mod.openCamera(
      { device: req.input, ...size, pixelFormat: req.pixelFormat ?? preferredCameraFormat(cam), slots: recordingSlots(req.fps ?? 30, (req.width ?? 640) * (req.height ?? 480) * 3) },
      HOST,
    );
    return { source, device: source.spec.description ?? req.input };
  } catch (e) {
    throw withHolders(e, isPath ? req.input : cam?.path ?? null);
  }
}

export async function openAudio(req: AudioRequest): Promise<Opened<AudioSource>> {
  if (isMcapInput(req.input)) return openMcapInput(req.input, 'audio', HOST);
  const a = await loadAudio();
  if (!a.mod) throw new UnsupportedFormatError(a.error);
  const fmt = { rate: req.rate ?? 48000, channels: req.channels ?? 2 };
  if (req.input === 'test' && !req.loopback) {
    const source = await a.mod.openTone({ ...fmt, frequency: 440 }, HOST);
    return { source, device: source.spec.description ?? 'tone' };
  }
  if (!a.mod.openMicrophone) throw new UnsupportedFormatError('audio capture needs the ALSA addon of @senseflow/source-audio, which this build does not have (try: pnpm build)');
  try {
    const source = await a.mod.openMicrophone(req.loopback ? { ...fmt, loopback: true } : { ...fmt, device: req.input }, HOST);
    return { source, device: source.spec.description ?? (req.loopback ? 'loopback' : req.input) };
  } catch (e) {
    throw withHolders(e, req.loopback ? null : alsaCaptureNode(req.input));
  }
}

export async function openStats(hz: number): Promise<Opened<RecordsSource>> {
  const s = await loadStats();
  if (!s.mod?.openSysStats) throw new UnsupportedFormatError(s.error ?? '@senseflow/source-sysstats has no openSysStats in this build');
  const source = await s.mod.openSysStats({ hz }, HOST);
  return { source, device: source.spec.description ?? `system stats @ ${hz} Hz` };
}

/** Resolves when the source has produced its first item, or rejects after `ms`. */
export async function firstItem(source: { latest(): unknown }, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (source.latest()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no data within ${(ms / 1000).toFixed(1)} s`);
}

/** The flags that choose and configure the inputs, shared by `record` and `serve`. */
export const INPUT_FLAGS = {
  video: { type: 'string' },
  size: { type: 'string' },
  fps: { type: 'string' },
  'pixel-format': { type: 'string' },
  audio: { type: 'string' },
  loopback: { type: 'boolean' },
  rate: { type: 'string' },
  channels: { type: 'string' },
  stats: { type: 'boolean' },
  'stats-hz': { type: 'string' },
} as const;

export interface InputFlags {
  video?: string;
  size?: string;
  fps?: string;
  'pixel-format'?: string;
  audio?: string;
  loopback?: boolean;
  rate?: string;
  channels?: string;
  stats?: boolean;
  'stats-hz'?: string;
}

export interface InputPlan {
  video?: VideoRequest;
  audio?: AudioRequest;
  statsHz?: number;
}

/**
 * Validates the input flags (one-line usage errors naming the flag) and says what to open.
 * `verb` is what the command does with them ("record", "serve"); `videoOnly` lists its own video-only flags.
 */
export function planInputs(v: InputFlags, verb: string, example: string, videoOnly: string[] = []): InputPlan {
  // The same limits the sources enforce (one table per option, exported by each source package).
  const sz = size(v.size, VIDEO_LIMITS.width, VIDEO_LIMITS.height);
  const fps = numberInLimit('--fps', v.fps, VIDEO_LIMITS.fps);
  const rate = numberInLimit('--rate', v.rate, AUDIO_LIMITS.rate, true);
  const channels = numberInLimit('--channels', v.channels, AUDIO_LIMITS.channels, true);
  const statsHz = numberInLimit('--stats-hz', v['stats-hz'], SYSSTATS_LIMITS.hz);
  if (v.video === '' || v.audio === '') throw new UsageError(`--${v.video === '' ? 'video' : 'audio'} needs a value`);
  if (!v.video && (sz || fps || v['pixel-format'] || videoOnly.length))
    throw new UsageError(`${['--size', '--fps', '--pixel-format', ...videoOnly].join(', ')} apply to video: add --video DEV|test|URL`);
  if (!v.audio && !v.loopback && (rate || channels)) throw new UsageError('--rate and --channels apply to audio: add --audio PCM|default|test or --loopback');
  if (v.audio && v.loopback) throw new UsageError('--audio and --loopback both choose the audio input: use one');
  if (!v.stats && statsHz) throw new UsageError('--stats-hz applies to --stats: add --stats');
  if (!v.video && !v.audio && !v.loopback && !v.stats) throw new UsageError(`nothing to ${verb}: add --video, --audio, --loopback and/or --stats`, example);
  return {
    video: v.video ? { input: v.video, width: sz?.width, height: sz?.height, fps, pixelFormat: v['pixel-format'] } : undefined,
    audio: v.audio || v.loopback ? { input: v.audio ?? 'default', loopback: v.loopback, rate, channels } : undefined,
    statsHz: v.stats ? (statsHz ?? 0) : undefined,
  };
}

/** Opens what the plan asks for, named video/audio/stats; on any failure closes what opened and rethrows. */
export async function openInputs(plan: InputPlan, defaultStatsHz: number): Promise<Array<{ name: string } & Opened<Source>>> {
  const opened: Array<{ name: string } & Opened<Source>> = [];
  try {
    if (plan.video) opened.push({ name: 'video', ...(await openVideo(plan.video)) });
    if (plan.audio) opened.push({ name: 'audio', ...(await openAudio(plan.audio)) });
    if (plan.statsHz !== undefined) opened.push({ name: 'stats', ...(await openStats(plan.statsHz || defaultStatsHz)) });
  } catch (e) {
    await Promise.allSettled(opened.map((s) => s.source.close()));
    throw e;
  }
  return opened;
}
