import { openSource, type AudioSource, type HostOptions } from '@senseflow/core';
import type { ToneOptions } from './tone/source.js';

export { fillTone, type ToneShape } from './tone/generator.js';
export { parseToneOptions, type ToneOptions } from './tone/source.js';

/**
 * Opens the built-in tone generator (sine or chirp), paced in real time like a microphone.
 *
 * @example
 * ```ts
 * const mic = await openTone({ frequency: 1000, rate: 48000, channels: 2 });
 * const { data, captureNs } = mic.read(4800); // the last 100 ms
 * ```
 */
export function openTone(options: Partial<ToneOptions> = {}, host?: HostOptions): Promise<AudioSource> {
  return openSource(new URL('./tone/source.js', import.meta.url), options, host);
}
