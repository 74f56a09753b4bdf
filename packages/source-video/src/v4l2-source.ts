/**
 * The `v4l2` source plugin (runs in its own worker; open it with {@link openCamera} on the main thread).
 *
 * Options: `device` (a /dev/video path, a /dev/v4l/by-id link or a stable id from listCameras(); default:
 * the first camera), `width`, `height`, `fps`, `pixelFormat` (default `rgb24`; device-native names pass
 * through untouched), `buffers` (driver mmap buffers, default 4), `slots` (ring slots, default 4).
 */
import {
  InvalidOptionError,
  UnsupportedFormatError,
  defineSource,
  formatCode,
  intIn,
  nonEmptyString,
  numberIn,
  optionsObject,
  withDefault,
  type FrameSourceContext,
  type VideoSpec,
} from '@senseflow/core';
import { findCamera, type CameraInfo } from './cameras.js';
import { CaptureSession } from './capture-session.js';
import { V4l2Device, type AppliedFormat } from './device.js';
import { negotiate, formatFps, type NegotiatedMode } from './negotiate.js';
import { CONVERTED_OUTPUTS, PIXEL_FORMATS, canProduce, pixelFormatCode, pixelFormatInfo } from './pixel-format.js';
import { VIDEO_LIMITS } from './limits.js';

export interface V4l2Options {
  device?: string;
  width?: number;
  height?: number;
  fps?: number;
  pixelFormat: string;
  /** Device format to capture in (e.g. `mjpeg` or `yuyv`); default: negotiated. */
  captureFormat?: string;
  buffers: number;
  slots: number;
}

const KEYS = ['device', 'width', 'height', 'fps', 'pixelFormat', 'captureFormat', 'buffers', 'slots'] as const;
const KNOWN_FORMATS = [...new Set(PIXEL_FORMATS.map((f) => f.name))];

/** Validates raw options (each error names the parameter and its valid values). */
export function parseV4l2Options(raw: unknown): V4l2Options {
  const o = optionsObject(raw, KEYS);
  const opt = <T>(v: unknown, check: (v: unknown) => T): T | undefined => (v === undefined ? undefined : check(v));
  const format = (param: string) => (v: unknown) => {
    if (typeof v === 'string' && (KNOWN_FORMATS.includes(v) || /^[a-z0-9]{3,4}$/.test(v))) return v;
    throw new InvalidOptionError(param, `one of ${KNOWN_FORMATS.join(', ')} (or a device FourCC in lower case)`, v, { choices: KNOWN_FORMATS });
  };
  const pixelFormat = withDefault(o.pixelFormat, 'rgb24', format('pixelFormat'));
  return {
    device: opt(o.device, (v) => nonEmptyString('device', v)),
    width: opt(o.width, (v) => intIn('width', v, VIDEO_LIMITS.width.min, VIDEO_LIMITS.width.max)),
    height: opt(o.height, (v) => intIn('height', v, VIDEO_LIMITS.height.min, VIDEO_LIMITS.height.max)),
    fps: opt(o.fps, (v) => numberIn('fps', v, VIDEO_LIMITS.fps.min, VIDEO_LIMITS.fps.max)),
    pixelFormat,
    captureFormat: opt(o.captureFormat, format('captureFormat')),
    buffers: withDefault(o.buffers, 4, (v) => intIn('buffers', v, 2, 32)),
    slots: withDefault(o.slots, 4, (v) => intIn('slots', v, 2, 256)),
  };
}

interface Plan {
  camera: CameraInfo;
  mode: NegotiatedMode;
  applied: AppliedFormat;
}

// describe() and open() run in the same worker, one after the other: open() reuses describe()'s plan.
let planned: { options: V4l2Options; plan: Plan } | undefined;

function makePlan(options: V4l2Options): Plan {
  if (planned?.options === options) return planned.plan;
  const usable = (f: { pixelFormat: string }) =>
    canProduce(f.pixelFormat, options.pixelFormat) && (options.captureFormat === undefined || f.pixelFormat === options.captureFormat);
  const camera = findCamera(options.device, { formats: usable, controls: false });
  if (camera.modes.length === 0) {
    const native = [...new Set(camera.formats.map((f) => f.pixelFormat))];
    if (options.captureFormat !== undefined && !native.includes(options.captureFormat))
      throw new UnsupportedFormatError(`${camera.path} does not capture in '${options.captureFormat}' (it offers ${native.join(', ')})`, {
        request: { captureFormat: options.captureFormat },
        choices: native,
      });
    const reachable = [...new Set([...native, ...CONVERTED_OUTPUTS.filter((c) => native.some((n) => canProduce(n, c)))])];
    throw new UnsupportedFormatError(
      `cannot produce pixelFormat '${options.pixelFormat}' from ${camera.path} (it offers ${native.join(', ') || 'no formats'}; senseflow can deliver ${reachable.join(', ')})`,
      { request: { pixelFormat: options.pixelFormat }, choices: reachable },
    );
  }
  const mode = negotiate(camera.modes, { width: options.width, height: options.height, fps: options.fps, pixelFormat: options.pixelFormat, captureFormat: options.captureFormat });
  const dev = new V4l2Device(camera.path);
  let applied: AppliedFormat;
  try {
    applied = dev.setFormat(mode.native.fourcc, mode.native.width, mode.native.height);
  } finally {
    dev.close();
  }
  if (applied.fourcc !== mode.native.fourcc || applied.width !== mode.native.width || applied.height !== mode.native.height)
    throw new UnsupportedFormatError(
      `${camera.path} listed ${mode.native.width}x${mode.native.height} ${mode.native.pixelFormat} but set ${applied.width}x${applied.height} ${applied.pixelFormat}`,
      { requested: mode.native, applied },
    );
  const plan = { camera, mode, applied };
  planned = { options, plan };
  return plan;
}

function outputGeometry(plan: Plan): { stride: number; slotBytes: number; compressed: boolean } {
  const { mode, applied } = plan;
  const info = pixelFormatInfo(mode.output);
  const compressed = info?.compressed ?? true;
  if (mode.conversion === 'passthrough') {
    // Native bytes as the driver filled them: its stride, its buffer size (bounds MJPEG frames too).
    const packed = info?.frameBytes(applied.width, applied.height) ?? 0;
    return { stride: compressed ? 0 : applied.bytesPerLine, slotBytes: Math.max(applied.sizeImage, packed, 1), compressed };
  }
  const bytes = info!.frameBytes(applied.width, applied.height)!;
  return { stride: info!.stride(applied.width), slotBytes: bytes, compressed: false };
}

export default defineSource<V4l2Options>({
  name: 'v4l2',
  options: parseV4l2Options,

  describe(options): VideoSpec {
    const plan = makePlan(options);
    const { camera, mode } = plan;
    const { stride, slotBytes } = outputGeometry(plan);
    return {
      kind: 'video',
      width: mode.native.width,
      height: mode.native.height,
      pixelFormat: mode.output,
      stride,
      fps: mode.fps,
      ring: { slots: options.slots, slotBytes },
      description: `[${camera.card}] ${mode.native.width}x${mode.native.height}@${formatFps(mode.fps)}fps, ${mode.native.pixelFormat}${
        mode.conversion === 'passthrough' ? '' : ` → ${mode.output}`
      }`,
      deviceId: camera.id,
      notes: [`${camera.path}: ${mode.explanation}`],
    };
  },

  open(ctx, options, spec) {
    const plan = makePlan(options);
    const { stride, compressed } = outputGeometry(plan);
    const converted = (CONVERTED_OUTPUTS as readonly string[]).includes(plan.mode.output) && plan.mode.conversion !== 'passthrough';
    const session = new CaptureSession(ctx as FrameSourceContext, {
      path: plan.camera.path,
      id: plan.camera.id,
      mode: plan.mode,
      outCode: converted ? pixelFormatCode(plan.mode.output) : 0,
      formatCode: formatCode(plan.mode.output),
      width: plan.applied.width,
      height: plan.applied.height,
      stride,
      buffers: options.buffers,
      compressed,
    });
    session.openDevice();
    ctx.log.info({ path: plan.camera.path, id: plan.camera.id, spec: spec.description }, plan.mode.explanation);
    return {
      start: () => session.start(),
      stop: () => session.stop(),
      close: () => session.close(),
      getControl: (name) => session.device.getControl(name),
      setControl: (name, value) => session.device.setControl(name, value),
      listControls: () =>
        session.listControls().map((c) => ({
          name: c.name,
          min: c.min,
          max: c.max,
          step: c.step,
          default: c.default,
          value: c.type === 'button' || c.type === 'string' || c.type === 'bitmask' ? undefined : safeGet(session, c.name),
        })),
    };
  },
});

function safeGet(session: CaptureSession, name: string): number | undefined {
  try {
    return session.device.getControl(name);
  } catch {
    return undefined; // write-only or momentarily unreadable controls have no current value
  }
}
