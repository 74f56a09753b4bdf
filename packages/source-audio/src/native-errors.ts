/**
 * Turns an error thrown by the ALSA addon (`{ errno, op, device, alsaMessage }`) into a senseflow typed error.
 */
import { DeviceBusyError, DeviceNotFoundError, NativeError, UnsupportedFormatError, type SenseflowError } from '@senseflow/core';
import { isNativeAlsaError } from './native.js';

/** What the device can do, listed in an UnsupportedFormatError. */
export interface CaptureChoices {
  rates: { min: number; max: number };
  channels: { min: number; max: number };
  formats: string[];
}

export function typedAlsaError(e: unknown, device: string, choices?: CaptureChoices | null): SenseflowError | unknown {
  if (!isNativeAlsaError(e)) return e;
  const details = { device, errno: e.errno, op: e.op, alsaMessage: e.alsaMessage };
  const why = e.alsaMessage ? ` (${e.alsaMessage.trim()})` : '';
  // snd_pcm_open fails with EINVAL when the name or its arguments do not resolve (hw:42 with 32 cards max).
  const errno = e.op === 'snd_pcm_open' && e.errno === 'EINVAL' ? 'ENOENT' : e.errno;
  switch (errno) {
    case 'EBUSY':
      return new DeviceBusyError(`ALSA device '${device}' is busy: another program is capturing from it${why}`, details);
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      return new DeviceNotFoundError(
        `ALSA device '${device}' not found${why}. List capture devices with listAudioDevices() or \`arecord -L\``,
        details,
      );
    case 'ECONNREFUSED':
    case 'ECONNRESET':
      return new DeviceNotFoundError(
        `ALSA device '${device}' goes through a sound server (PulseAudio/PipeWire) that is not running${why}. Start it or set PULSE_SERVER`,
        details,
      );
    case 'EINVAL':
      if (e.op.startsWith('set_') || e.op === 'snd_pcm_hw_params') {
        const can = choices
          ? `; it can capture ${choices.rates.min}–${choices.rates.max} Hz, ${choices.channels.min}–${choices.channels.max} channels, formats ${choices.formats.join(', ') || '(none senseflow reads)'}`
          : '';
        return new UnsupportedFormatError(`ALSA device '${device}' rejected ${e.op.replace('set_', '')}${can}`, { ...details, choices });
      }
      return new NativeError(`${e.message}`, details);
    default:
      return new NativeError(`${e.message}${why}`, details);
  }
}
