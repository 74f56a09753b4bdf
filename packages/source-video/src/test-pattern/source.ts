/**
 * `test` video source: a moving pattern with seq and capture time encoded in the pixels, any size, fps and
 * pixel format, written in place into the ring and paced by the monotonic clock. Runs in its worker.
 */
import { defineSource, intIn, ItemFlags, numberIn, oneOf, optionsObject, withDefault, type FrameSourceContext } from '@senseflow/core';
import { PATTERN_FORMATS, makeBarsRow, patternGeometry, renderPattern, type PatternFormat } from './pattern.js';
import { VIDEO_LIMITS } from '../limits.js';

export interface TestPatternOptions {
  width: number;
  height: number;
  fps: number;
  pixelFormat: PatternFormat;
  /** Ring slots (default 8). */
  slots: number;
}

export function parseTestPatternOptions(raw: unknown): TestPatternOptions {
  const o = optionsObject(raw, ['width', 'height', 'fps', 'pixelFormat', 'slots']);
  const width = withDefault(o.width, 640, (v) => intIn('width', v, VIDEO_LIMITS.width.min, VIDEO_LIMITS.width.max));
  return {
    width: width % 2 ? width + 1 : width,
    height: withDefault(o.height, 480, (v) => intIn('height', v, VIDEO_LIMITS.height.min, VIDEO_LIMITS.height.max)),
    fps: withDefault(o.fps, 30, (v) => numberIn('fps', v, VIDEO_LIMITS.fps.min, VIDEO_LIMITS.fps.max)),
    pixelFormat: withDefault(o.pixelFormat, 'rgb24', (v) => oneOf('pixelFormat', v, PATTERN_FORMATS)),
    slots: withDefault(o.slots, 8, (v) => intIn('slots', v, 2, 1024)),
  };
}

export default defineSource<TestPatternOptions>({
  name: 'test-pattern',
  options: parseTestPatternOptions,
  describe(o) {
    const g = patternGeometry(o.width, o.height, o.pixelFormat);
    return {
      kind: 'video',
      width: o.width,
      height: o.height,
      pixelFormat: o.pixelFormat,
      stride: g.stride,
      fps: o.fps,
      ring: { slots: o.slots, slotBytes: g.stride * o.height },
      description: `[test pattern] ${o.width}x${o.height}@${o.fps}fps, ${o.pixelFormat}`,
      deviceId: 'test-pattern',
    };
  },
  open(c, o) {
    const ctx = c as FrameSourceContext;
    const g = patternGeometry(o.width, o.height, o.pixelFormat);
    const bars = makeBarsRow(g);
    // Paced on absolute deadlines; a tick overdue by more than a period is skipped and counted (`driver`), never burst.
    const loop = ctx.loop({ hz: o.fps }, () => {
      const slot = ctx.frames.begin();
      if (!slot) return; // readers hold every slot: counted as ringFull
      const captureNs = ctx.clock.now();
      renderPattern(slot.data, g, bars, ctx.frames.nextSeq, captureNs);
      slot.flags = ItemFlags.KEY;
      ctx.frames.commit(slot, g.stride * o.height, captureNs);
    });
    return { start: loop.start, stop: loop.stop, close: loop.stop };
  },
});
