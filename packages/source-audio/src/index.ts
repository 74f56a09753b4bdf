export * from './tone.js';
import { openSource, type AudioSource, type HostOptions } from '@senseflow/core';
import type { AlsaOptions } from './options.js';

export { listAudioDevices, type AudioDevice, type ListAudioDevicesOptions } from './devices.js';
export { levels, createLevels, type ChannelLevels } from '@senseflow/core';
export { parseAlsaOptions, ALSA_OPTION_NAMES, type AlsaOptions } from './options.js';
export { chunkCaptureTime, lostFramesBetween, framesToNs, type ReadStamp, type ChunkTime } from './timestamps.js';

/**
 * Opens an ALSA capture device (microphone, line in, any PCM) in its own worker; with `loopback: true`,
 * records what the computer plays (the sound server's monitor of the default sink).
 *
 * @example
 * ```ts
 * const mic = await openMicrophone({ device: 'hw:1,0', rate: 48000, channels: 2 });
 * mic.frames$.subscribe((c) => console.log(c.frames, c.captureNs));
 * const { data } = mic.read(4800); // the last 100 ms, Int16Array
 * await mic.close();
 * ```
 */
export function openMicrophone(options: Partial<AlsaOptions> = {}, host?: HostOptions): Promise<AudioSource> {
  return openSource(new URL('./alsa-source.js', import.meta.url), options, host) as Promise<AudioSource>;
}
export { AUDIO_LIMITS } from './limits.js';
