/**
 * @senseflow/source-video — cameras for senseflow: native V4L2 capture (this file's `openCamera`), camera
 * discovery, mode negotiation and pixel-format helpers. The ffmpeg and test-pattern backends have their own
 * entry points.
 */
import { openSource, type HostOptions, type VideoSource } from '@senseflow/core';

export { listCameras, findCamera, probeCamera, videoNodes, stableId, describeModes, type CameraInfo } from './cameras.js';
export { negotiate, describeMode, formatFps, fpsOf, DEFAULT_SIZE, type CaptureMode, type ModeRequest, type NegotiatedMode, type Fraction } from './negotiate.js';
export {
  PIXEL_FORMATS,
  CONVERTED_OUTPUTS,
  CONVERTIBLE_SOURCES,
  fourccCode,
  fourccString,
  pixelFormatName,
  pixelFormatInfo,
  pixelFormatCode,
  bytesPerFrame,
  canProduce,
  type PixelFormatInfo,
  type ConvertedOutput,
} from './pixel-format.js';
export { convertFrame } from './convert.js';
export { controlKey, type CameraControl, type DeviceFormat } from './device.js';
export { parseV4l2Options, type V4l2Options } from './v4l2-source.js';

/** Options of {@link openCamera} (all optional). */
export interface CameraOptions {
  /** `/dev/video0`, a `/dev/v4l/by-id/…` link, or a stable id from `listCameras()`. Default: the first camera. */
  device?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Ring item format: `rgb24` (default), `bgr24`, `gray8`, `rgba`, or a device-native one (`yuyv`, `mjpeg`, …). */
  pixelFormat?: string;
  /** Device format to capture in (`yuyv`, `mjpeg`, …) when the route matters; default: negotiated. */
  captureFormat?: string;
  /** Driver (mmap) buffers, 2–32, default 4. */
  buffers?: number;
  /** Ring slots, default 4. */
  slots?: number;
}

/**
 * Opens a V4L2 camera in its own worker thread. Frames land in a SharedArrayBuffer ring, converted in one
 * pass from the driver's buffer, stamped with the driver's capture time.
 *
 * @example
 * ```ts
 * import { openCamera } from '@senseflow/source-video';
 * await using cam = await openCamera({ width: 640, height: 480, fps: 30, pixelFormat: 'rgb24' });
 * console.log(cam.spec.description, cam.spec.notes);
 * cam.frames$.subscribe((f) => console.log(f.seq, f.captureNs, f.data.length));
 * ```
 */
export function openCamera(options: CameraOptions = {}, host?: HostOptions): Promise<VideoSource> {
  return openSource(new URL('./v4l2-source.js', import.meta.url), options, host) as Promise<VideoSource>;
}

export * from './test-pattern/pattern.js';
export { parseTestPatternOptions, type TestPatternOptions } from './test-pattern/source.js';
import type { TestPatternOptions } from './test-pattern/source.js';

/**
 * Opens the built-in test pattern (no hardware): a moving pattern with seq and capture time encoded in the
 * pixels. Same options as the `@senseflow/source-video/test-pattern` module.
 *
 * @example
 * ```ts
 * const src = await openTestPattern({ width: 640, height: 480, fps: 30 });
 * ```
 */
export function openTestPattern(options: Partial<TestPatternOptions> = {}, host?: HostOptions): Promise<VideoSource> {
  return openSource(new URL('./test-pattern/source.js', import.meta.url), options, host) as Promise<VideoSource>;
}

export { parseFfmpegOptions, FFMPEG_PIXEL_FORMATS, type FfmpegOptions, type FfmpegPixelFormat } from './ffmpeg/options.js';
import type { FfmpegOptions } from './ffmpeg/options.js';
export { JpegScanner, JpegEvent, type JpegEventCode } from './ffmpeg/jpeg-scanner.js';

/**
 * Opens a video source backed by one long-lived ffmpeg process: a file (optionally looped, paced at its
 * frame rate), an HTTP MJPEG or RTSP stream, an X11 screen (`format: 'x11grab'`), or a camera on macOS
 * (`avfoundation`) and Windows (`dshow`). Frames are read from ffmpeg's output straight into the ring's slots.
 * Capture times are receive times (flagged TIMESTAMP_FALLBACK). See docs/video-ffmpeg.md.
 *
 * @example
 * ```ts
 * import { openFfmpeg } from '@senseflow/source-video';
 * await using cam = await openFfmpeg({ input: 'rtsp://192.168.1.20/stream1', width: 640, height: 360, pixelFormat: 'bgr24' });
 * cam.frames$.subscribe((f) => console.log(f.seq, f.width, f.height));
 * ```
 */
export function openFfmpeg(options: Partial<FfmpegOptions>, host?: HostOptions): Promise<VideoSource> {
  return openSource(new URL('./ffmpeg/source.js', import.meta.url), options, host) as Promise<VideoSource>;
}
export { VIDEO_LIMITS } from './limits.js';
