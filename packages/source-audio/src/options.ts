/**
 * Options of the ALSA source, validated in TypeScript (the addon trusts them): every error names the
 * parameter and what would have been accepted.
 */
import { InvalidOptionError, SAMPLE_FORMATS, bool, intIn, nonEmptyString, numberIn, oneOf, optionsObject, withDefault, type SampleFormat } from '@senseflow/core';
import { AUDIO_LIMITS } from './limits.js';

export interface AlsaOptions {
  /** ALSA PCM name: `default`, `hw:1,0`, `plughw:CARD=USB,DEV=0`, `pulse`, … Default `default`. */
  device: string;
  /** Capture "what the computer plays" (the sound server's monitor of the default sink) instead of `device`. */
  loopback: boolean;
  /** Sample rate in Hz (exact: the device or a plug layer must provide it). Default 48000. */
  rate: number;
  /** Interleaved channels. Default 2. */
  channels: number;
  /** Sample format in the ring. Default `s16le`. */
  format: SampleFormat;
  /** Frames per read (ALSA period). Default `rate / 100` (10 ms): low latency at ~100 wake-ups a second. */
  periodFrames: number;
  /** Length of the device's own buffer in ms; a reader stalled longer than this overruns. Default 200. */
  deviceBufferMs: number;
  /** Length of the shared ring in seconds (what `read(n)` can reach back). Default 10. */
  bufferSecs: number;
  /** Delay between reopen attempts after the device went away. Default 500 ms. */
  reconnectMs: number;
  /** Test hook: block the capture thread once for this long (after ~100 ms of streaming) to force an overrun. Default 0. */
  debugStallMs: number;
  /**
   * Test hook: how long one native capture call may keep the worker's thread before its event loop runs
   * (default 0: YIELD_EVERY_MS, 100 ms); a test lengthens it to show that control calls and sleeping readers
   * do not wait for it. Below the watchdog's 1 s.
   */
  debugSliceMs: number;
}

export const ALSA_OPTION_NAMES = [
  'device',
  'loopback',
  'rate',
  'channels',
  'format',
  'periodFrames',
  'deviceBufferMs',
  'bufferSecs',
  'reconnectMs',
  'debugStallMs',
  'debugSliceMs',
] as const;

/** Validates raw options and fills defaults. Throws InvalidOptionError naming the bad parameter. */
export function parseAlsaOptions(raw: unknown): AlsaOptions {
  const o = optionsObject(raw, ALSA_OPTION_NAMES);
  const loopback = withDefault(o.loopback, false, (v) => bool('loopback', v));
  if (loopback && o.device !== undefined)
    throw new InvalidOptionError('device', 'no device with `loopback: true` (loopback captures the default sink\'s monitor)', o.device);
  const device = withDefault(o.device, 'default', (v) => nonEmptyString('device', v));
  const rate = withDefault(o.rate, 48000, (v) => intIn('rate', v, AUDIO_LIMITS.rate.min, AUDIO_LIMITS.rate.max));
  const channels = withDefault(o.channels, 2, (v) => intIn('channels', v, AUDIO_LIMITS.channels.min, AUDIO_LIMITS.channels.max));
  const format = withDefault(o.format, 's16le' as SampleFormat, (v) => oneOf('format', v, SAMPLE_FORMATS));
  const periodFrames = withDefault(o.periodFrames, Math.round(rate / 100), (v) => intIn('periodFrames', v, 16, rate));
  const deviceBufferMs = withDefault(o.deviceBufferMs, 200, (v) => intIn('deviceBufferMs', v, 10, 10_000));
  if ((deviceBufferMs * rate) / 1000 < 2 * periodFrames)
    throw new InvalidOptionError('deviceBufferMs', `at least two periods (≥ ${Math.ceil((2000 * periodFrames) / rate)} ms for periodFrames ${periodFrames})`, deviceBufferMs);
  const bufferSecs = withDefault(o.bufferSecs, 10, (v) => numberIn('bufferSecs', v, 0.1, 3600));
  if (bufferSecs * rate < 4 * periodFrames)
    throw new InvalidOptionError('bufferSecs', `at least four periods (≥ ${((4 * periodFrames) / rate).toFixed(3)} s)`, bufferSecs);
  const reconnectMs = withDefault(o.reconnectMs, 500, (v) => intIn('reconnectMs', v, 10, 60_000));
  const debugStallMs = withDefault(o.debugStallMs, 0, (v) => intIn('debugStallMs', v, 0, 60_000));
  const debugSliceMs = withDefault(o.debugSliceMs, 0, (v) => intIn('debugSliceMs', v, 0, 900));
  return { device, loopback, rate, channels, format, periodFrames, deviceBufferMs, bufferSecs, reconnectMs, debugStallMs, debugSliceMs };
}
