/**
 * Options of the `ffmpeg` video source: validated here (typed errors naming the parameter), turned into an
 * ffmpeg command line by `args.ts`.
 */
import { InvalidOptionError, bool, intIn, nonEmptyString, numberIn, oneOf, optionsObject, withDefault } from '@senseflow/core';
import { VIDEO_LIMITS } from '../limits.js';

/** Pixel formats the source can deliver, and ffmpeg's name for each (`mjpeg` is compressed: JPEG frames). */
export const FFMPEG_PIXEL_FORMATS = {
  rgb24: 'rgb24',
  bgr24: 'bgr24',
  gray8: 'gray',
  rgba: 'rgba',
  yuyv: 'yuyv422',
  nv12: 'nv12',
  mjpeg: 'mjpeg',
} as const;
export type FfmpegPixelFormat = keyof typeof FFMPEG_PIXEL_FORMATS;
const PIXEL_FORMAT_NAMES = Object.keys(FFMPEG_PIXEL_FORMATS) as FfmpegPixelFormat[];

/** Input formats (`-f`) that are devices or screens: live, never paced with `-re`, restarted when they fail. */
const LIVE_FORMATS = ['x11grab', 'v4l2', 'video4linux2', 'avfoundation', 'dshow', 'gdigrab', 'kmsgrab', 'fbdev', 'decklink', 'pulse', 'alsa'];
/** URL schemes of network streams: live as well. */
const LIVE_SCHEMES = /^(https?|rtsp|rtsps|rtmp|rtmps|rtp|udp|tcp|srt|mms|mmsh|rist|unix):/i;

export interface FfmpegOptions {
  /** What ffmpeg opens (its `-i`): a file path, `http://…` (MJPEG and anything ffmpeg reads), `rtsp://…`,
   *  an X11 display (`:0.0+0,0` with `format: 'x11grab'`; defaults to `$DISPLAY`), a device name… */
  input: string;
  /** ffmpeg's input format (`-f`), e.g. `x11grab`, `avfoundation`, `dshow`, `lavfi`, `mjpeg`. Optional: ffmpeg guesses. */
  format: string | undefined;
  /** Extra input options placed before `-i`, e.g. `['-video_size', '640x480', '-framerate', '30']`. */
  inputOptions: string[];
  /** Output size: scaled by ffmpeg when given, else the input's size (probed with ffprobe). */
  width: number | undefined;
  height: number | undefined;
  /** Output rate: ffmpeg's `fps` filter when given, else the input's rate (the nominal `spec.fps`). */
  fps: number | undefined;
  /** Pixel format of frames in the ring (default `rgb24`); `mjpeg` delivers JPEG images (copied, not re-encoded, when the input is MJPEG). */
  pixelFormat: FfmpegPixelFormat;
  /** Pace a file at its own frame rate (`-re`). Default true for files; ignored for live inputs. */
  realtime: boolean;
  /** Play a file again from the start when it ends (`-stream_loop -1`). Default false. */
  loop: boolean;
  /** Whether the input is live (device, screen, network). Default: guessed from `format` and the URL scheme. */
  live: boolean;
  /** Restart ffmpeg (with backoff) when a live input fails mid-stream. Default true. */
  reconnect: boolean;
  /** Longest wait between restart attempts, in ms (the delay doubles from 250 ms up to this). Default 10000. */
  maxReconnectDelayMs: number;
  /** JPEG quality when ffmpeg has to encode `mjpeg` (2 = best … 31 = worst). Default 3. */
  jpegQuality: number;
  /** Ring slots (default 8). */
  slots: number;
  /** How frames leave ffmpeg: `socket` (default; read straight into ring slots) or `stdout` (a pipe, one copy per
   *  byte; the default on Windows, and the way out for ffmpeg builds without the `unix` protocol). */
  transport: 'socket' | 'stdout';
  /** The ffmpeg and ffprobe binaries (default `ffmpeg` and `ffprobe` on PATH, or $SENSEFLOW_FFMPEG / $SENSEFLOW_FFPROBE). */
  ffmpegPath: string;
  ffprobePath: string;
}

const KEYS = [
  'input', 'format', 'inputOptions', 'width', 'height', 'fps', 'pixelFormat', 'realtime', 'loop', 'live', 'reconnect',
  'maxReconnectDelayMs', 'jpegQuality', 'slots', 'transport', 'ffmpegPath', 'ffprobePath',
];

/** True for device, screen and network inputs (see {@link FfmpegOptions.live}). */
export function guessLive(input: string, format: string | undefined): boolean {
  if (format && LIVE_FORMATS.includes(format)) return true;
  return LIVE_SCHEMES.test(input);
}

const optional = <T>(v: unknown, check: (v: unknown) => T): T | undefined => (v === undefined ? undefined : check(v));

/** Validates raw options and fills defaults; throws InvalidOptionError naming the bad parameter. */
export function parseFfmpegOptions(raw: unknown): FfmpegOptions {
  const o = optionsObject(raw, KEYS);
  const format = optional(o.format, (v) => nonEmptyString('format', v));
  const input = o.input === undefined && format === 'x11grab' && process.env.DISPLAY ? process.env.DISPLAY : nonEmptyString('input', o.input);
  const inputOptions = withDefault(o.inputOptions, [] as string[], (v) => {
    if (!Array.isArray(v) || v.some((a) => typeof a !== 'string')) throw new InvalidOptionError('inputOptions', 'an array of strings', v);
    return v as string[];
  });
  const pixelFormat = withDefault(o.pixelFormat, 'rgb24' as FfmpegPixelFormat, (v) => oneOf('pixelFormat', v, PIXEL_FORMAT_NAMES));
  const width = optional(o.width, (v) => intIn('width', v, VIDEO_LIMITS.width.min, VIDEO_LIMITS.width.max));
  const height = optional(o.height, (v) => intIn('height', v, VIDEO_LIMITS.height.min, VIDEO_LIMITS.height.max));
  if ((width === undefined) !== (height === undefined)) {
    const [param, value] = width === undefined ? ['width', o.width] : ['height', o.height];
    throw new InvalidOptionError(param, 'a number too (give both width and height, or neither)', value);
  }
  const even = pixelFormat === 'yuyv' || pixelFormat === 'nv12';
  if (even && width !== undefined && width % 2) throw new InvalidOptionError('width', `an even number for ${pixelFormat}`, width);
  if (pixelFormat === 'nv12' && height !== undefined && height % 2) throw new InvalidOptionError('height', 'an even number for nv12', height);
  const live = withDefault(o.live, guessLive(input, format), (v) => bool('live', v));
  return {
    input,
    format,
    inputOptions,
    width,
    height,
    fps: optional(o.fps, (v) => numberIn('fps', v, VIDEO_LIMITS.fps.min, VIDEO_LIMITS.fps.max)),
    pixelFormat,
    realtime: withDefault(o.realtime, true, (v) => bool('realtime', v)),
    loop: withDefault(o.loop, false, (v) => bool('loop', v)),
    live,
    reconnect: withDefault(o.reconnect, true, (v) => bool('reconnect', v)),
    maxReconnectDelayMs: withDefault(o.maxReconnectDelayMs, 10_000, (v) => intIn('maxReconnectDelayMs', v, 250, 600_000)),
    jpegQuality: withDefault(o.jpegQuality, 3, (v) => intIn('jpegQuality', v, 2, 31)),
    slots: withDefault(o.slots, 8, (v) => intIn('slots', v, 2, 1024)),
    transport: withDefault(o.transport, process.platform === 'win32' ? 'stdout' : 'socket', (v) => oneOf('transport', v, ['socket', 'stdout'] as const)),
    ffmpegPath: withDefault(o.ffmpegPath, process.env.SENSEFLOW_FFMPEG ?? 'ffmpeg', (v) => nonEmptyString('ffmpegPath', v)),
    ffprobePath: withDefault(o.ffprobePath, process.env.SENSEFLOW_FFPROBE ?? 'ffprobe', (v) => nonEmptyString('ffprobePath', v)),
  };
}
