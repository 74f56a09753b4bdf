/**
 * Camera discovery: every /dev/video* node that can capture, with its modes, controls and a stable id
 * (driver, bus and card name — never the /dev/videoN number, which changes across replugs and reboots).
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DeviceNotFoundError, SenseflowError } from '@senseflow/core';
import { CAP_STREAMING, CAP_VIDEO_CAPTURE, V4l2Device, type CameraControl, type DeviceFormat } from './device.js';
import { describeMode, fpsOf, formatFps, type CaptureMode, type Fraction } from './negotiate.js';

export interface CameraInfo {
  /** Device node, e.g. `/dev/video0`. */
  path: string;
  /** Stable identity: `/dev/v4l/by-id/…` when udev made one, else `driver:busInfo:card`. */
  id: string;
  /** `/dev/v4l/by-id/…` link, when present. */
  byId?: string;
  card: string;
  driver: string;
  busInfo: string;
  formats: DeviceFormat[];
  modes: CaptureMode[];
  controls: CameraControl[];
  /** PsychoPy-style one-liners, one per mode and frame rate: `[vivid] 640x480@25fps, yuyv`. */
  descriptions: string[];
}

/** Sizes tried on devices that report a stepwise/continuous range instead of a list. */
const COMMON_SIZES: Array<[number, number]> = [
  [160, 120], [320, 180], [320, 240], [640, 360], [640, 480], [800, 600], [1024, 768], [1280, 720], [1280, 960], [1920, 1080], [2560, 1440], [3840, 2160],
];
const COMMON_FPS = [5, 10, 15, 20, 24, 25, 30, 50, 60, 90, 120];

/** The nodes to look at, in numeric order. */
export function videoNodes(dir = '/dev'): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^video\d+$/.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((n) => join(dir, n));
}

function byIdLinks(): Map<string, string> {
  const out = new Map<string, string>();
  const dir = '/dev/v4l/by-id';
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      const target = resolve(dir, readlinkSync(join(dir, n)));
      if (!out.has(target)) out.set(target, join(dir, n));
    } catch {
      /* a dangling link: ignore */
    }
  }
  return out;
}

export const stableId = (driver: string, busInfo: string, card: string): string => `${driver}:${busInfo}:${card}`;

function intervalsFor(dev: V4l2Device, fourcc: string, width: number, height: number): Fraction[] {
  const list = dev.frameIntervals(fourcc, width, height);
  const out: Fraction[] = [];
  for (const iv of list) {
    if (iv.type === 'discrete') out.push({ num: iv.num, den: iv.den });
    else {
      // A range: offer its ends and the usual rates between them (as exact fractions).
      const maxFps = fpsOf(iv.min);
      const minFps = fpsOf(iv.max);
      out.push(iv.min);
      for (const f of COMMON_FPS) if (f > minFps && f < maxFps) out.push({ num: 1, den: f });
      out.push(iv.max);
    }
  }
  return out.filter((iv) => iv.num > 0 && iv.den > 0).sort((a, b) => fpsOf(b) - fpsOf(a));
}

/** Every (format, size) with its intervals. Stepwise sizes are sampled at common resolutions. */
export function readModes(dev: V4l2Device, formats = dev.formats()): CaptureMode[] {
  const modes: CaptureMode[] = [];
  for (const f of formats) {
    const sizes: Array<[number, number]> = [];
    for (const s of dev.frameSizes(f.fourcc)) {
      if (s.type === 'discrete') sizes.push([s.width, s.height]);
      else {
        const fits = (v: number, min: number, max: number, step: number) => v >= min && v <= max && (step <= 1 || (v - min) % step === 0);
        for (const [w, h] of COMMON_SIZES)
          if (fits(w, s.minWidth, s.maxWidth, s.stepWidth) && fits(h, s.minHeight, s.maxHeight, s.stepHeight)) sizes.push([w, h]);
        sizes.push([s.maxWidth, s.maxHeight]);
      }
    }
    if (sizes.length === 0) {
      // Some drivers (v4l2loopback before a producer arrives, old UVC) list no sizes: offer the current one.
      const cur = dev.getFormat();
      if (cur.fourcc === f.fourcc && cur.width > 0) sizes.push([cur.width, cur.height]);
    }
    const seen = new Set<string>();
    for (const [width, height] of sizes) {
      const key = `${width}x${height}`;
      if (seen.has(key)) continue;
      seen.add(key);
      modes.push({ pixelFormat: f.pixelFormat, fourcc: f.fourcc, width, height, intervals: intervalsFor(dev, f.fourcc, width, height) });
    }
  }
  return modes;
}

/** PsychoPy-style descriptions: `[card] WxH@FPSfps, format`. */
export function describeModes(card: string, modes: readonly CaptureMode[]): string[] {
  return modes.flatMap((m) =>
    m.intervals.length > 0
      ? m.intervals.map((iv) => `[${card}] ${m.width}x${m.height}@${formatFps(fpsOf(iv))}fps, ${m.pixelFormat}`)
      : [`[${card}] ${m.width}x${m.height}, ${m.pixelFormat}`],
  );
}

export interface ProbeOptions {
  /** Only enumerate sizes and intervals of the formats this accepts (negotiation needs just those). */
  formats?: (f: DeviceFormat) => boolean;
  /** Read the controls too (default true). */
  controls?: boolean;
  links?: Map<string, string>;
}

/** Reads one node. Returns null when it is not a single-planar capture device. */
export function probeCamera(path: string, opts: ProbeOptions = {}): CameraInfo | null {
  const links = opts.links ?? byIdLinks();
  const dev = new V4l2Device(path);
  try {
    const cap = dev.capability();
    if (!(cap.deviceCaps & CAP_VIDEO_CAPTURE) || !(cap.deviceCaps & CAP_STREAMING)) return null;
    const formats = dev.formats();
    const modes = readModes(dev, opts.formats ? formats.filter(opts.formats) : formats);
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      /* keep path */
    }
    const byId = links.get(real);
    return {
      path,
      id: byId ?? stableId(cap.driver, cap.busInfo, cap.card),
      ...(byId ? { byId } : {}),
      card: cap.card,
      driver: cap.driver,
      busInfo: cap.busInfo,
      formats,
      modes,
      controls: opts.controls === false ? [] : dev.listControls(),
      descriptions: describeModes(cap.card, modes),
    };
  } finally {
    dev.close();
  }
}

/**
 * Lists the capture cameras on this machine. Nodes that cannot be opened (permissions, metadata-only
 * nodes, devices vanishing mid-scan) are skipped.
 *
 * @example
 * ```ts
 * for (const cam of listCameras()) console.log(cam.id, cam.descriptions[0]);
 * ```
 */
export function listCameras(): CameraInfo[] {
  const links = byIdLinks();
  const out: CameraInfo[] = [];
  for (const path of videoNodes()) {
    try {
      const info = probeCamera(path, { links });
      if (info) out.push(info);
    } catch (e) {
      if (!SenseflowError.isInstance(e)) throw e;
      if (e.code === 'ENATIVE' && /Could not load/.test(e.message)) throw e;
    }
  }
  return out;
}

/** True when `id` names this camera: its stable id, its by-id link, or its `driver:bus:card` triple. */
export function matchesId(cam: CameraInfo, id: string): boolean {
  return cam.id === id || cam.byId === id || stableId(cam.driver, cam.busInfo, cam.card) === id;
}

/**
 * Resolves a `device` option — a /dev path (or by-id link), a stable id, or undefined for the first
 * camera — to a probed camera.
 */
export function findCamera(device: string | undefined, opts: Omit<ProbeOptions, 'links'> = {}): CameraInfo {
  if (device?.startsWith('/dev/')) {
    const info = probeCamera(device, opts);
    if (!info) throw new DeviceNotFoundError(`${device} is not a video capture device`, { device });
    return info;
  }
  const links = byIdLinks();
  let found: CameraInfo | null = null;
  if (device === undefined) {
    for (const path of videoNodes()) {
      try {
        found = probeCamera(path, { ...opts, links });
      } catch {
        found = null; // not openable: try the next node
      }
      if (found) break;
    }
  } else {
    const path = findNodeById(device);
    if (path) found = probeCamera(path, { ...opts, links });
  }
  if (!found) {
    const cams = listCameras();
    const known = cams.map((c) => `${c.id} (${c.path})`);
    throw new DeviceNotFoundError(
      device === undefined ? 'no V4L2 capture device found (no /dev/video* that can capture)' : `no camera with id '${device}'${known.length ? `; found: ${known.join(', ')}` : ' (no cameras found)'}`,
      { device, found: known },
    );
  }
  return found;
}

/** The /dev node that currently carries camera `id` (a replugged camera may come back under another number). */
export function findNodeById(id: string): string | undefined {
  const links = byIdLinks();
  for (const path of videoNodes()) {
    let dev: V4l2Device | undefined;
    try {
      dev = new V4l2Device(path);
      const cap = dev.capability();
      if (!(cap.deviceCaps & CAP_VIDEO_CAPTURE)) continue;
      let real = path;
      try {
        real = realpathSync(path);
      } catch {
        /* keep path */
      }
      if (stableId(cap.driver, cap.busInfo, cap.card) === id || links.get(real) === id) return path;
    } catch {
      /* vanished, busy or not ours: keep looking */
    } finally {
      dev?.close();
    }
  }
  return undefined;
}

export { describeMode };
