import { openSource, type HostOptions, type VideoSource } from '@senseflow/core';
import type { TestPatternOptions } from './test-pattern/source.js';

export * from './test-pattern/pattern.js';
export { parseTestPatternOptions, type TestPatternOptions } from './test-pattern/source.js';

/**
 * Opens the built-in test pattern: moving colour bars with seq and capture time in the pixels.
 *
 * @example
 * ```ts
 * const cam = await openTestPattern({ width: 640, height: 480, fps: 30, pixelFormat: 'bgr24' });
 * const f = cam.latest();
 * ```
 */
export function openTestPattern(options: Partial<TestPatternOptions> = {}, host?: HostOptions): Promise<VideoSource> {
  return openSource(new URL('./test-pattern/source.js', import.meta.url), options, host);
}
