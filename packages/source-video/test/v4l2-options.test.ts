import { describe, expect, it } from 'vitest';
import {
  DeviceBusyError,
  DeviceNotFoundError,
  DisconnectedError,
  IOError,
  InvalidOptionError,
  NativeError,
  SenseflowError,
  UnsupportedFormatError,
} from '@senseflow/core';
import {
  bytesPerFrame,
  canProduce,
  controlKey,
  fourccCode,
  fourccString,
  openCamera,
  parseV4l2Options,
  pixelFormatName,
} from '@senseflow/source-video';
import { VIDEO_LIMITS } from '../src/limits.js';
import { TimestampGuard } from '../src/timestamps.js';
import { toTypedError } from '../src/native.js';

describe('v4l2 options', () => {
  it('fills defaults', () => {
    expect(parseV4l2Options(undefined)).toEqual({
      device: undefined,
      width: undefined,
      height: undefined,
      fps: undefined,
      pixelFormat: 'rgb24',
      captureFormat: undefined,
      buffers: 4,
      slots: 4,
    });
  });

  it.each([
    [{ width: -1 }, 'width', new RegExp(`an integer from ${VIDEO_LIMITS.width.min} to ${VIDEO_LIMITS.width.max}`)],
    [{ height: 1.5 }, 'height', new RegExp(`an integer from ${VIDEO_LIMITS.height.min} to ${VIDEO_LIMITS.height.max}`)],
    [{ fps: 0 }, 'fps', new RegExp(`a number from ${VIDEO_LIMITS.fps.min} to ${VIDEO_LIMITS.fps.max}`)],
    [{ pixelFormat: 'H.264' }, 'pixelFormat', /one of yuyv, uyvy.*rgb24.*mjpeg/],
    [{ captureFormat: 7 }, 'captureFormat', /one of yuyv/],
    [{ buffers: 1 }, 'buffers', /an integer from 2 to 32/],
    [{ slots: 1000 }, 'slots', /an integer from 2 to 256/],
    [{ device: '' }, 'device', /a non-empty string/],
    [{ resolution: '720p' }, 'resolution', /a known option \(one of device, width/],
  ])('rejects %j naming `%s`', (raw, param, msg) => {
    let err: unknown;
    try {
      parseV4l2Options(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).parameter).toBe(param);
    expect((err as InvalidOptionError).code).toBe('EINVAL');
    expect((err as Error).message).toMatch(msg);
  });

  it('accepts device-native FourCC names for passthrough', () => {
    expect(parseV4l2Options({ pixelFormat: 'ba81' }).pixelFormat).toBe('ba81');
  });
});

describe('pixel format helpers', () => {
  it('round-trips FourCCs', () => {
    expect(fourccCode('YUYV')).toBe(0x56595559);
    expect(fourccString(0x47504a4d)).toBe('MJPG');
    expect(pixelFormatName(fourccCode('NV12'))).toBe('nv12');
    expect(pixelFormatName('BA81')).toBe('ba81');
  });

  it('computes frame sizes', () => {
    expect(bytesPerFrame('yuyv', 640, 480)).toBe(614400);
    expect(bytesPerFrame('rgb24', 1280, 720)).toBe(2764800);
    expect(bytesPerFrame('nv12', 640, 480)).toBe(460800);
    expect(bytesPerFrame('rgba', 2, 2)).toBe(16);
    expect(bytesPerFrame('mjpeg', 640, 480)).toBeUndefined();
  });

  it('knows which routes exist', () => {
    expect(canProduce('yuyv', 'rgb24')).toBe(true);
    expect(canProduce('mjpeg', 'gray8')).toBe(true);
    expect(canProduce('grey', 'gray8')).toBe(true);
    expect(canProduce('grey', 'rgb24')).toBe(false);
    expect(canProduce('mjpeg', 'yuyv')).toBe(false);
  });

  it('names controls like v4l2-ctl', () => {
    expect(controlKey('White Balance, Automatic')).toBe('white_balance_automatic');
    expect(controlKey("Y'CbCr Encoding")).toBe('y_cbcr_encoding');
  });
});

describe('driver timestamp checks', () => {
  const ms = (n: number) => BigInt(Math.round(n * 1e6));

  it('keeps sane monotonic stamps (up to 1 ms past the receive time: clocks read on different paths)', () => {
    const g = new TimestampGuard();
    const now = ms(10_000);
    expect(g.check(now - ms(5), now)).toEqual({ captureNs: now - ms(5), fallback: null });
    expect(g.check(now + ms(0.5), now)).toEqual({ captureNs: now + ms(0.5), fallback: null });
  });

  it.each([
    ['missing', 0n, /no timestamp/],
    ['after the receive time (vivid stamps the scheduled end of frame)', ms(100_000 + 35), /after the frame was received/],
    ['wall-clock / too old', ms(100_000 - 50_000), /too old/],
  ])('falls back to the receive time when the stamp is %s', (_name, ts, why) => {
    const g = new TimestampGuard();
    const now = ms(100_000);
    const d = g.check(ts, now);
    expect(d.captureNs).toBe(now);
    expect(d.fallback).toMatch(why);
  });

  it('rejects stamps running backwards and never publishes a decreasing time', () => {
    const g = new TimestampGuard();
    g.check(ms(1000), ms(1001));
    const d = g.check(ms(990), ms(1002));
    expect(d.fallback).toMatch(/backwards/);
    expect(d.captureNs).toBe(ms(1002));
    // A fallback time earlier than the last published one is nudged forward.
    const g2 = new TimestampGuard();
    g2.check(ms(1000.5), ms(1000));
    const e = g2.check(0n, ms(1000.2));
    expect(e.captureNs).toBe(ms(1000.5) + 1n);
  });
});

describe('openCamera without a device', () => {
  it('rejects a missing node with DeviceNotFoundError across the worker boundary', async () => {
    let err: unknown;
    try {
      const cam = await openCamera({ device: '/dev/senseflow-no-such-video' }, { requestTimeoutMs: 60_000 });
      await cam.close();
    } catch (e) {
      err = e;
    }
    expect(SenseflowError.isInstance(err)).toBe(true);
    expect(err).toBeInstanceOf(DeviceNotFoundError);
    expect((err as DeviceNotFoundError).code).toBe('ENODEV');
    expect((err as Error).message).toContain('/dev/senseflow-no-such-video');
  });

  it('rejects bad options with the parameter named, before touching a device', async () => {
    await expect(openCamera({ width: 0 }, { requestTimeoutMs: 60_000 })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'width' });
  });
});

describe('errno → typed error mapping', () => {
  const native = (code: string, syscall = 'open') => Object.assign(new Error(`${syscall} on /dev/video0 failed (${code})`), { code, syscall, path: '/dev/video0' });
  it.each([
    ['ENOENT', 'open', DeviceNotFoundError, 'ENODEV'],
    ['EBUSY', 'VIDIOC_S_FMT', DeviceBusyError, 'EBUSY'],
    ['EINVAL', 'VIDIOC_S_FMT', UnsupportedFormatError, 'EUNSUPPORTED'],
    ['ENODEV', 'VIDIOC_DQBUF', DisconnectedError, 'EDISCONNECTED'],
    ['EACCES', 'open', IOError, 'EIO'],
    ['ENOTTY', 'VIDIOC_G_PARM', NativeError, 'ENATIVE'],
  ])('%s from %s → %o', (code, syscall, Cls, typed) => {
    const e = toTypedError(native(code, syscall), 'cannot open /dev/video0');
    expect(e).toBeInstanceOf(Cls);
    expect((e as SenseflowError).code).toBe(typed);
    expect((e as SenseflowError).details).toMatchObject({ errno: code, syscall, path: '/dev/video0' });
  });
  it('tells how to fix a permission problem', () => {
    expect(toTypedError(native('EACCES'), 'x').message).toMatch(/video' group/);
  });
});
