/**
 * A V4L2 capture node as TypeScript sees it: the addon's thin ioctl wrappers with FourCCs as names,
 * V4L2 control names as snake_case keys, and every failure as a typed senseflow error.
 */
import { InvalidOptionError, InvalidStateError } from '@senseflow/core';
import { toTypedError, v4l2Binding, type Fraction, type NativeDevice, type NativeFormat, type NativeFrame } from './native.js';
import { fourccCode, fourccString, pixelFormatName } from './pixel-format.js';

/** V4L2_CAP_VIDEO_CAPTURE (single-planar capture). */
export const CAP_VIDEO_CAPTURE = 0x1;
export const CAP_STREAMING = 0x04000000;
/** V4L2_FMT_FLAG_COMPRESSED. */
const FMT_FLAG_COMPRESSED = 0x1;
/** V4L2_CTRL_FLAG_DISABLED / READ_ONLY / INACTIVE / WRITE_ONLY. */
const CTRL_DISABLED = 0x1;
const CTRL_READ_ONLY = 0x4;
const CTRL_INACTIVE = 0x10;
const CTRL_WRITE_ONLY = 0x40;

const CTRL_TYPES: Record<number, CameraControl['type']> = {
  1: 'integer',
  2: 'boolean',
  3: 'menu',
  4: 'button',
  5: 'integer64',
  6: 'class',
  7: 'string',
  8: 'bitmask',
  9: 'integer_menu',
};

export interface DeviceFormat {
  /** senseflow name (`yuyv`, `mjpeg`, …). */
  pixelFormat: string;
  fourcc: string;
  description: string;
  compressed: boolean;
}

export interface CameraControl {
  /** snake_case key used by getControl/setControl (`brightness`, `white_balance_automatic`). */
  name: string;
  /** The driver's own label (`White Balance, Automatic`). */
  label: string;
  id: number;
  type: 'integer' | 'boolean' | 'menu' | 'button' | 'integer64' | 'class' | 'string' | 'bitmask' | 'integer_menu' | 'unknown';
  min: number;
  max: number;
  step: number;
  default: number;
  readOnly: boolean;
  inactive: boolean;
  menu?: Array<{ value: number; label: string }>;
}

export interface AppliedFormat {
  pixelFormat: string;
  fourcc: string;
  width: number;
  height: number;
  /** Bytes per row of the driver's buffers. */
  bytesPerLine: number;
  /** Largest buffer the driver fills (bounds MJPEG frames). */
  sizeImage: number;
}

/** snake_case key of a V4L2 control label (what v4l2-ctl prints). */
export function controlKey(label: string): string {
  return label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function applied(f: NativeFormat): AppliedFormat {
  return {
    pixelFormat: pixelFormatName(f.fourcc),
    fourcc: fourccString(f.fourcc),
    width: f.width,
    height: f.height,
    bytesPerLine: f.bytesPerLine,
    sizeImage: f.sizeImage,
  };
}

export class V4l2Device {
  private dev: NativeDevice | null;
  private controls: Map<string, CameraControl> | undefined;

  constructor(readonly path: string) {
    const { Device } = v4l2Binding();
    const dev = new Device();
    try {
      dev.open(path);
      this.dev = dev;
    } catch (e) {
      throw toTypedError(e, `cannot open ${path}`);
    }
  }

  private call<T>(what: string, fn: (d: NativeDevice) => T): T {
    if (!this.dev) throw new InvalidStateError(`${this.path} is closed`);
    try {
      return fn(this.dev);
    } catch (e) {
      throw toTypedError(e, `${what} (${this.path})`);
    }
  }

  /** The raw handle for the capture loop's hot path (dequeueInto); errors there are mapped by the caller. */
  get native(): NativeDevice {
    if (!this.dev) throw new InvalidStateError(`${this.path} is closed`);
    return this.dev;
  }

  get closed(): boolean {
    return this.dev === null;
  }

  capability() {
    return this.call('VIDIOC_QUERYCAP', (d) => d.querycap());
  }

  formats(): DeviceFormat[] {
    return this.call('VIDIOC_ENUM_FMT', (d) => d.enumFormats()).map((f) => ({
      pixelFormat: pixelFormatName(f.fourcc),
      fourcc: fourccString(f.fourcc),
      description: f.description,
      compressed: (f.flags & FMT_FLAG_COMPRESSED) !== 0,
    }));
  }

  frameSizes(fourcc: string) {
    return this.call('VIDIOC_ENUM_FRAMESIZES', (d) => d.enumFrameSizes(fourccCode(fourcc)));
  }

  frameIntervals(fourcc: string, width: number, height: number) {
    return this.call('VIDIOC_ENUM_FRAMEINTERVALS', (d) => d.enumFrameIntervals(fourccCode(fourcc), width, height));
  }

  /** Usable controls (disabled ones and class headers left out), keyed by snake_case name. */
  listControls(): CameraControl[] {
    if (!this.controls) {
      const map = new Map<string, CameraControl>();
      for (const c of this.call('VIDIOC_QUERYCTRL', (d) => d.queryControls())) {
        const type = CTRL_TYPES[c.type] ?? 'unknown';
        if (c.flags & CTRL_DISABLED || type === 'class') continue;
        let name = controlKey(c.name);
        if (map.has(name)) name = `${name}_${c.id.toString(16)}`;
        map.set(name, {
          name,
          label: c.name,
          id: c.id,
          type,
          min: c.min,
          max: c.max,
          step: c.step,
          default: c.default,
          readOnly: (c.flags & CTRL_READ_ONLY) !== 0,
          inactive: (c.flags & CTRL_INACTIVE) !== 0,
          ...(c.menu ? { menu: c.menu.map((m) => ({ value: m.index, label: m.name })) } : {}),
        });
        if (c.flags & CTRL_WRITE_ONLY) map.get(name)!.readOnly = false;
      }
      this.controls = map;
    }
    return [...this.controls.values()];
  }

  private control(name: string): CameraControl {
    this.listControls();
    const c = this.controls!.get(name);
    if (!c) throw new InvalidOptionError('control', `one of ${[...this.controls!.keys()].join(', ')}`, name, { choices: [...this.controls!.keys()] });
    return c;
  }

  getControl(name: string): number {
    const c = this.control(name);
    return this.call(`get control ${name}`, (d) => d.getControl(c.id, c.type === 'integer64'));
  }

  /** Sets a control after checking its range (the error names the control and the valid range). */
  setControl(name: string, value: number): void {
    const c = this.control(name);
    if (c.readOnly) throw new InvalidOptionError(name, 'a writable control', value, { readOnly: true });
    // A button has no value: any write presses it.
    const ok =
      c.type === 'button' ||
      typeof value === 'number' &&
      Number.isInteger(value) &&
      value >= c.min &&
      value <= c.max &&
      (c.step <= 1 || (value - c.min) % c.step === 0) &&
      (!c.menu || c.menu.some((m) => m.value === value));
    if (!ok) {
      const expected = c.menu
        ? `one of ${c.menu.map((m) => `${m.value} (${m.label})`).join(', ')}`
        : `an integer from ${c.min} to ${c.max}${c.step > 1 ? ` in steps of ${c.step}` : ''}`;
      throw new InvalidOptionError(name, expected, value, { min: c.min, max: c.max, step: c.step });
    }
    this.call(`set control ${name}`, (d) => d.setControl(c.id, c.type === 'button' ? 0 : value, c.type === 'integer64'));
  }

  setFormat(fourcc: string, width: number, height: number): AppliedFormat {
    return applied(this.call('VIDIOC_S_FMT', (d) => d.setFormat(fourccCode(fourcc), width, height)));
  }

  getFormat(): AppliedFormat {
    return applied(this.call('VIDIOC_G_FMT', (d) => d.getFormat()));
  }

  /** Sets the frame interval (num/den seconds); returns what the driver chose, or null if it cannot. */
  setFrameInterval(interval: Fraction): Fraction | null {
    return this.call('VIDIOC_S_PARM', (d) => d.setFrameInterval(interval.num, interval.den));
  }

  startStreaming(buffers: number): number {
    return this.call('VIDIOC_STREAMON', (d) => d.startStreaming(buffers));
  }

  stopStreaming(): void {
    this.call('VIDIOC_STREAMOFF', (d) => d.stopStreaming());
  }

  /** One frame into `dst` (see NativeDevice.dequeueInto). */
  dequeueInto(dst: Uint8Array | null, outFourcc: number, timeoutMs: number): NativeFrame | { disconnected: string } | null {
    return this.call('VIDIOC_DQBUF', (d) => d.dequeueInto(dst, outFourcc, timeoutMs));
  }

  /** Idempotent. Stops streaming, unmaps the buffers and closes the fd. */
  close(): void {
    const d = this.dev;
    this.dev = null;
    d?.close();
  }
}
