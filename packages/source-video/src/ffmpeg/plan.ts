/**
 * The plan for one ffmpeg source: output geometry (what `describe()` reports) and the ffmpeg command
 * line that produces exactly that. Pure, so tests check the command lines directly.
 */
import { UnsupportedFormatError, frameBytes } from '@senseflow/core';
import { FFMPEG_PIXEL_FORMATS, type FfmpegOptions } from './options.js';
import type { ProbeResult } from './probe.js';

export interface FfmpegPlan {
  width: number;
  height: number;
  /** Nominal rate: the option, else the input's, else 30 (then a note says so). */
  fps: number;
  pixelFormat: FfmpegOptions['pixelFormat'];
  /** Bytes per row (0 for mjpeg). */
  stride: number;
  /** Bytes of one frame for raw formats, null for mjpeg (images vary). */
  frameBytes: number | null;
  slotBytes: number;
  /** mjpeg only: the input already is MJPEG and nothing is scaled, so images are passed through (`-c:v copy`). */
  passthrough: boolean;
  args: string[];
  notes: string[];
}

/** Whether {@link planFfmpeg} needs an ffprobe result for these options. */
export function needsProbe(o: FfmpegOptions): boolean {
  return o.width === undefined || o.fps === undefined;
}

/**
 * @param probe what ffprobe said about the input (required when {@link needsProbe})
 * @param version ffmpeg's [major, minor] (chooses `-fps_mode` or `-vsync`)
 */
export function planFfmpeg(o: FfmpegOptions, probe: ProbeResult | null, version: [number, number] = [99, 0]): FfmpegPlan {
  const notes: string[] = ['capture times are receive times (the moment the last byte of a frame came out of ffmpeg), flagged TIMESTAMP_FALLBACK'];
  let width = o.width ?? probe?.width ?? 0;
  let height = o.height ?? probe?.height ?? 0;
  if (!width || !height) throw new UnsupportedFormatError(`cannot tell the size of '${o.input}': give width and height`, { input: o.input });
  let scale = o.width !== undefined;
  // Chroma-subsampled outputs need even sizes: round an odd input size down (a one-pixel crop by scaling).
  const even = o.pixelFormat === 'yuyv' || o.pixelFormat === 'nv12';
  if (even && (width % 2 || (o.pixelFormat === 'nv12' && height % 2))) {
    width -= width % 2;
    if (o.pixelFormat === 'nv12') height -= height % 2;
    scale = true;
    notes.push(`size rounded down to ${width}x${height} (${o.pixelFormat} needs even sizes)`);
  }
  let fps = o.fps ?? probe?.fps ?? 0;
  if (!fps) {
    fps = 30;
    notes.push('the input does not state its frame rate: 30 fps is a nominal guess (frames come as ffmpeg delivers them)');
  }

  const filters: string[] = [];
  if (scale) filters.push(`scale=${width}:${height}`);
  if (o.fps !== undefined) filters.push(`fps=${o.fps}`);
  const passthrough = o.pixelFormat === 'mjpeg' && filters.length === 0 && probe?.codec === 'mjpeg';

  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+warning'];
  // No `-fflags nobuffer` for live inputs: it only shortens stream analysis at the start, and makes
  // decoders begin before a key frame (grey pictures until the next one).
  if (!o.live) {
    if (o.realtime) args.push('-re');
    if (o.loop) args.push('-stream_loop', '-1');
  }
  if (o.format) args.push('-f', o.format);
  args.push(...o.inputOptions, '-i', o.input, '-map', '0:v:0', '-an', '-sn', '-dn');
  if (filters.length) args.push('-vf', filters.join(','));
  // Pass frames through as they come: no duplicated or dropped frames to fake a constant rate.
  args.push(...(version[0] > 5 || (version[0] === 5 && version[1] >= 1) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']));
  let stride = 0;
  let bytes: number | null = null;
  let slotBytes: number;
  if (o.pixelFormat === 'mjpeg') {
    if (passthrough) {
      args.push('-c:v', 'copy');
      notes.push('mjpeg: the input is MJPEG, images are passed through unchanged');
    } else {
      args.push('-c:v', 'mjpeg', '-q:v', String(o.jpegQuality), '-pix_fmt', 'yuvj420p');
      notes.push(`mjpeg: images are encoded by ffmpeg (quality ${o.jpegQuality})`);
    }
    args.push('-f', 'mjpeg');
    // A JPEG larger than the same image as raw RGB does not happen at sane qualities.
    slotBytes = Math.max(64 * 1024, width * height * 3);
  } else {
    args.push('-pix_fmt', FFMPEG_PIXEL_FORMATS[o.pixelFormat], '-f', 'rawvideo');
    bytes = frameBytes(o.pixelFormat, width, height);
    if (bytes === null) throw new UnsupportedFormatError(`no frame size for ${o.pixelFormat}`);
    stride = o.pixelFormat === 'nv12' ? width : bytes / height;
    slotBytes = bytes;
  }
  // Write every frame out as soon as it is made (else the pipe holds back a frame's tail until the next).
  args.push('-flush_packets', '1', 'pipe:1');
  return { width, height, fps, pixelFormat: o.pixelFormat, stride, frameBytes: bytes, slotBytes, passthrough, args, notes };
}
