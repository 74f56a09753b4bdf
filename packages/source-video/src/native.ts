/**
 * The only module that loads the V4L2 addon, plus the mapping of the errno names it throws onto senseflow's
 * typed errors. `node-gyp-build` picks `native/build/Release/senseflow_v4l2.node` when it was compiled here,
 * else the prebuild for this platform and CPU (`native/prebuilds/linux-x64|linux-arm64/`). Loading is lazy,
 * so importing this package on a machine without the addon still works until a camera is actually used.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  DeviceBusyError,
  DeviceNotFoundError,
  DisconnectedError,
  IOError,
  NativeError,
  SenseflowError,
  UnsupportedFormatError,
} from '@senseflow/core';

export interface NativeCapability {
  driver: string;
  card: string;
  busInfo: string;
  version: number;
  capabilities: number;
  deviceCaps: number;
}
export interface NativeFormatDesc {
  fourcc: number;
  description: string;
  flags: number;
}
export type NativeFrameSize =
  | { type: 'discrete'; width: number; height: number }
  | {
      type: 'stepwise' | 'continuous';
      minWidth: number;
      maxWidth: number;
      stepWidth: number;
      minHeight: number;
      maxHeight: number;
      stepHeight: number;
    };
export interface Fraction {
  num: number;
  den: number;
}
export type NativeFrameInterval =
  | ({ type: 'discrete' } & Fraction)
  | { type: 'stepwise' | 'continuous'; min: Fraction; max: Fraction; step: Fraction };
export interface NativeControl {
  id: number;
  name: string;
  type: number;
  min: number;
  max: number;
  step: number;
  default: number;
  flags: number;
  menu?: Array<{ index: number; name: string }>;
}
export interface NativeFormat {
  fourcc: number;
  width: number;
  height: number;
  bytesPerLine: number;
  sizeImage: number;
  field: number;
  colorspace: number;
}
export interface NativeFrame {
  /** Bytes written into the destination; negative = conversion failure (see `error`). */
  bytes: number;
  error?: number;
  jpegError?: string;
  /** V4L2 buffer sequence number. */
  seq: number;
  /** Driver timestamp in ns (CLOCK_MONOTONIC for well-behaved drivers). */
  tsNs: bigint;
  tsFlags: number;
  bufFlags: number;
  bytesUsed: number;
  width: number;
  height: number;
  /** Set when requeueing found the device gone. */
  disconnected?: string;
}

export interface NativeDevice {
  /** Opens the node (O_RDWR | O_NONBLOCK). The constructor never throws; this does. */
  open(path: string): void;
  close(): void;
  querycap(): NativeCapability;
  enumFormats(): NativeFormatDesc[];
  enumFrameSizes(fourcc: number): NativeFrameSize[];
  enumFrameIntervals(fourcc: number, width: number, height: number): NativeFrameInterval[];
  queryControls(): NativeControl[];
  getControl(id: number, is64?: boolean): number;
  setControl(id: number, value: number, is64?: boolean): void;
  getFormat(): NativeFormat;
  setFormat(fourcc: number, width: number, height: number): NativeFormat;
  getFrameInterval(): Fraction | null;
  setFrameInterval(num: number, den: number): Fraction | null;
  startStreaming(buffers: number): number;
  stopStreaming(): void;
  waitReadable(timeoutMs: number): 'ready' | 'timeout';
  /** null = nothing within the timeout; `{ disconnected }` = the device is gone. */
  dequeueInto(dst: Uint8Array | null, outFourcc: number, timeoutMs: number): NativeFrame | { disconnected: string } | null;
}

export interface V4l2Binding {
  Device: new () => NativeDevice;
  convertFrame(
    src: Uint8Array,
    srcFourcc: number,
    width: number,
    height: number,
    srcStride: number,
    dst: Uint8Array,
    outFourcc: number,
  ): number;
}

let binding: V4l2Binding | undefined;

/**
 * The loaded addon. Throws a {@link NativeError} with "Possible solutions" when it cannot be loaded.
 */
export function v4l2Binding(): V4l2Binding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  // dist/*.js and src/*.ts both sit one level below the package root.
  const path = fileURLToPath(new URL('../native', import.meta.url));
  try {
    binding = (require('node-gyp-build') as (dir: string) => unknown)(path) as V4l2Binding;
    return binding;
  } catch (e) {
    const reason = e instanceof Error ? e.message.trim() : String(e);
    throw new NativeError(
      [
        `Could not load the senseflow V4L2 addon (${path}): ${reason}`,
        'Possible solutions:',
        '- Install libjpeg-turbo: apt-get install -y libturbojpeg0 (the prebuilt addon links against it)',
        '- No prebuild for this platform: install the build dependencies (apt-get install -y build-essential libturbojpeg0-dev)',
        '  and rebuild: npm rebuild @senseflow/source-video (in this repo: pnpm --filter @senseflow/source-video build)',
        '- On a machine without V4L2 (not Linux), use the ffmpeg or test-pattern backends instead.',
      ].join('\n'),
      { path, reason },
    );
  }
}

/** Turns an error thrown by the addon (`code` = errno name) into a typed senseflow error. */
export function toTypedError(e: unknown, what: string): Error {
  if (SenseflowError.isInstance(e)) return e;
  if (!(e instanceof Error)) return new NativeError(`${what}: ${String(e)}`);
  const n = e as Error & { code?: string; errno?: number; syscall?: string; path?: string };
  const details = { errno: n.code, syscall: n.syscall, path: n.path };
  switch (n.code) {
    case 'ENOENT':
    case 'ENXIO':
      return new DeviceNotFoundError(`${what}: ${n.message}`, details);
    case 'ENODEV':
      return new DisconnectedError(`${what}: ${n.message}`, details);
    case 'EBUSY':
      return new DeviceBusyError(`${what}: ${n.message} (another program is probably capturing from it)`, details);
    case 'EACCES':
    case 'EPERM':
      return new IOError(`${what}: ${n.message}. Possible solutions: add your user to the 'video' group, or check the node's permissions`, details);
    case 'EIO':
      return new IOError(`${what}: ${n.message}`, details);
    case 'EINVAL':
      if (n.syscall === 'VIDIOC_S_FMT' || n.syscall === 'VIDIOC_S_PARM') return new UnsupportedFormatError(`${what}: ${n.message}`, details);
      return new NativeError(`${what}: ${n.message}`, details);
    default:
      return new NativeError(`${what}: ${n.message}`, details);
  }
}
