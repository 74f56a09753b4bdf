import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UnsupportedFormatError } from '@senseflow/core';
import { negotiate, type CaptureMode } from '@senseflow/source-video';

const iv = (...fps: number[]) => fps.map((f) => (f === 29.97 ? { num: 1001, den: 30000 } : { num: 1, den: f }));
const mode = (pixelFormat: string, fourcc: string, width: number, height: number, fps: number[]): CaptureMode => ({
  pixelFormat,
  fourcc,
  width,
  height,
  intervals: iv(...fps),
});

/** A typical USB webcam: YUYV slow at high resolutions, MJPEG fast everywhere. */
const webcam: CaptureMode[] = [
  mode('yuyv', 'YUYV', 640, 480, [30, 15]),
  mode('yuyv', 'YUYV', 1280, 720, [15, 10, 5]),
  mode('yuyv', 'YUYV', 320, 240, [30]),
  mode('mjpeg', 'MJPG', 640, 480, [30, 15]),
  mode('mjpeg', 'MJPG', 1280, 720, [30, 15]),
  mode('mjpeg', 'MJPG', 1920, 1080, [29.97]),
];

/** vivid's webcam input (subset): frame rate falls with size. */
const vivid: CaptureMode[] = [
  mode('yuyv', 'YUYV', 320, 180, [60, 50, 40, 30, 25]),
  mode('yuyv', 'YUYV', 640, 480, [25, 12.5]),
  mode('yuyv', 'YUYV', 1280, 720, [12.5]),
  mode('grey', 'GREY', 640, 480, [25]),
  mode('nv12', 'NV12', 640, 480, [25]),
];

describe('negotiate', () => {
  it('takes an exact native match as passthrough', () => {
    const m = negotiate(vivid, { width: 640, height: 480, fps: 25, pixelFormat: 'yuyv' });
    expect(m.native).toEqual({ pixelFormat: 'yuyv', fourcc: 'YUYV', width: 640, height: 480 });
    expect(m.interval).toEqual({ num: 1, den: 25 });
    expect(m.fps).toBe(25);
    expect(m.output).toBe('yuyv');
    expect(m.conversion).toBe('passthrough');
    expect(m.explanation).toMatch(/^640x480@25fps yuyv passed through/);
  });

  it('picks the highest frame rate when fps is open, even if that means decoding MJPEG', () => {
    const m = negotiate(webcam, { width: 1280, height: 720, pixelFormat: 'rgb24' });
    expect(m.native.pixelFormat).toBe('mjpeg');
    expect(m.fps).toBe(30);
    expect(m.conversion).toBe('decode');
    expect(m.explanation).toContain('highest frame rate');
  });

  it('prefers the cheaper route when the frame rate is fixed', () => {
    const m = negotiate(webcam, { width: 1280, height: 720, fps: 15, pixelFormat: 'rgb24' });
    expect(m.native.pixelFormat).toBe('yuyv');
    expect(m.conversion).toBe('convert');
    expect(m.explanation).toContain('yuyv preferred over mjpeg');
  });

  it('defaults to the size closest to 640x480 and its fastest rate', () => {
    const m = negotiate(vivid, {});
    expect([m.native.width, m.native.height, m.fps, m.native.pixelFormat]).toEqual([640, 480, 25, 'yuyv']);
    expect(m.output).toBe('yuyv');
  });

  it('matches 30 fps to 30000/1001', () => {
    const m = negotiate(webcam, { width: 1920, height: 1080, fps: 30, pixelFormat: 'mjpeg' });
    expect(m.interval).toEqual({ num: 1001, den: 30000 });
    expect(m.fps).toBeCloseTo(29.97, 2);
  });

  it('rejects an impossible size with the closest modes, closest first', () => {
    let err: unknown;
    try {
      negotiate(vivid, { width: 800, height: 600, pixelFormat: 'rgb24' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedFormatError);
    const e = err as UnsupportedFormatError;
    expect(e.code).toBe('EUNSUPPORTED');
    const choices = e.details!.choices as string[];
    expect(choices.length).toBeGreaterThan(0);
    expect(choices[0]).toMatch(/^640x480@25fps /);
    expect(e.message).toContain('Closest modes: 640x480@25fps');
  });

  it('rejects an impossible frame rate, listing what that size can do', () => {
    expect(() => negotiate(vivid, { width: 1280, height: 720, fps: 60 })).toThrow(/no mode at 60 fps.*1280x720@12.5fps yuyv/);
  });

  it('rejects an output the device cannot reach, naming what it can deliver', () => {
    let err: UnsupportedFormatError | undefined;
    try {
      negotiate(vivid, { pixelFormat: 'h264' });
    } catch (e) {
      err = e as UnsupportedFormatError;
    }
    expect(err).toBeInstanceOf(UnsupportedFormatError);
    expect(err!.message).toContain("cannot produce pixelFormat 'h264'");
    expect(err!.details!.choices).toEqual(expect.arrayContaining(['yuyv', 'grey', 'nv12', 'rgb24', 'bgr24', 'gray8', 'rgba']));
  });

  it('passes grey through for gray8 and converts for rgb24', () => {
    const g = negotiate([mode('grey', 'GREY', 640, 480, [30]), mode('yuyv', 'YUYV', 640, 480, [30])], { pixelFormat: 'gray8' });
    expect(g.native.pixelFormat).toBe('grey');
    expect(g.conversion).toBe('passthrough');
    const onlyGrey = [mode('grey', 'GREY', 640, 480, [30])];
    expect(() => negotiate(onlyGrey, { pixelFormat: 'rgb24' })).toThrow(UnsupportedFormatError);
  });

  it('constrains the width alone', () => {
    const m = negotiate(webcam, { width: 320 });
    expect([m.native.width, m.native.height]).toEqual([320, 240]);
  });

  it('handles modes without frame intervals', () => {
    const m = negotiate([{ pixelFormat: 'yuyv', fourcc: 'YUYV', width: 640, height: 480, intervals: [] }], { pixelFormat: 'rgb24' });
    expect(m.interval).toBeNull();
    expect(m.fps).toBe(0);
    expect(() => negotiate([{ pixelFormat: 'yuyv', fourcc: 'YUYV', width: 640, height: 480, intervals: [] }], { fps: 30 })).toThrow(
      UnsupportedFormatError,
    );
  });

  it('honours captureFormat', () => {
    const m = negotiate(webcam, { width: 640, height: 480, pixelFormat: 'rgb24', captureFormat: 'mjpeg' });
    expect(m.native.pixelFormat).toBe('mjpeg');
    expect(m.explanation).toContain('captured as mjpeg');
    expect(() => negotiate(vivid, { captureFormat: 'mjpeg' })).toThrow(/does not capture in 'mjpeg'/);
    expect(() => negotiate(vivid, { captureFormat: 'grey', pixelFormat: 'rgb24' })).toThrow(/cannot turn 'grey' into 'rgb24'/);
  });

  it('fails clearly on a device with no modes', () => {
    expect(() => negotiate([], {})).toThrow(/offers no capture modes/);
  });

  const arbMode = fc.record({
    pixelFormat: fc.constantFrom('yuyv', 'mjpeg', 'nv12', 'grey', 'uyvy'),
    width: fc.constantFrom(160, 320, 640, 800, 1280, 1920),
    height: fc.constantFrom(120, 240, 480, 600, 720, 1080),
    fps: fc.uniqueArray(fc.constantFrom(5, 10, 15, 24, 25, 30, 50, 60), { minLength: 1, maxLength: 4 }),
  });
  const toMode = (m: { pixelFormat: string; width: number; height: number; fps: number[] }): CaptureMode =>
    mode(m.pixelFormat, m.pixelFormat.toUpperCase().replace('MJPEG', 'MJPG'), m.width, m.height, [...m.fps].sort((a, b) => b - a));

  it('always satisfies a request built from an offered mode (property)', () => {
    fc.assert(
      fc.property(fc.array(arbMode, { minLength: 1, maxLength: 12 }), fc.nat(), fc.boolean(), (raw, pick, withFormat) => {
        const modes = raw.map(toMode);
        const target = modes[pick % modes.length];
        const fps = target.intervals[0].den / target.intervals[0].num;
        const req = { width: target.width, height: target.height, fps, ...(withFormat ? { pixelFormat: 'rgb24' } : {}) };
        if (withFormat && target.pixelFormat === 'grey') return; // grey cannot become rgb24
        const m = negotiate(modes, req);
        expect(m.native.width).toBe(target.width);
        expect(m.native.height).toBe(target.height);
        expect(m.fps).toBeCloseTo(fps, 6);
        if (!withFormat) expect(m.output).toBe(m.native.pixelFormat);
      }),
    );
  });

  it('is deterministic: the order of the modes does not matter (property)', () => {
    fc.assert(
      fc.property(fc.array(arbMode, { minLength: 1, maxLength: 10 }), fc.integer(), (raw, seed) => {
        const modes = raw.map(toMode);
        const shuffled = [...modes].sort((a, b) => ((a.width * 31 + a.height + seed) % 7) - ((b.width * 31 + b.height + seed) % 7));
        const a = negotiate(modes, {});
        const b = negotiate(shuffled, {});
        expect(b.native).toEqual(a.native);
        expect(b.fps).toBe(a.fps);
      }),
    );
  });
});
