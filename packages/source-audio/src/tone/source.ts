/**
 * `tone` audio source: a sine or chirp at any rate, channel count and format, written in place into the
 * sample ring in periods paced by the monotonic clock. Runs in its worker. The generator is the clock:
 * the capture time of frame n is start + n / rate exactly.
 */
import {
  SAMPLE_FORMATS,
  defineSource,
  intIn,
  numberIn,
  oneOf,
  optionsObject,
  withDefault,
  type SampleFormat,
  type SampleSourceContext,
} from '@senseflow/core';
import { fillTone } from './generator.js';
import { AUDIO_LIMITS } from '../limits.js';

export interface ToneOptions {
  rate: number;
  channels: number;
  format: SampleFormat;
  frequency: number;
  /** Sweep linearly from `frequency` to this (Hz) every `chirpSeconds`, or null for a steady sine. */
  chirpTo: number | null;
  chirpSeconds: number;
  levelDb: number;
  periodFrames: number;
  bufferSecs: number;
}

export function parseToneOptions(raw: unknown): ToneOptions {
  const o = optionsObject(raw, ['rate', 'channels', 'format', 'frequency', 'chirpTo', 'chirpSeconds', 'levelDb', 'periodFrames', 'bufferSecs']);
  const rate = withDefault(o.rate, 48000, (v) => intIn('rate', v, AUDIO_LIMITS.rate.min, AUDIO_LIMITS.rate.max));
  return {
    rate,
    channels: withDefault(o.channels, 2, (v) => intIn('channels', v, AUDIO_LIMITS.channels.min, AUDIO_LIMITS.channels.max)),
    format: withDefault(o.format, 's16le', (v) => oneOf('format', v, SAMPLE_FORMATS)),
    frequency: withDefault(o.frequency, 440, (v) => numberIn('frequency', v, 0, rate / 2)),
    chirpTo: o.chirpTo === undefined || o.chirpTo === null ? null : numberIn('chirpTo', o.chirpTo, 0, rate / 2),
    chirpSeconds: withDefault(o.chirpSeconds, 1, (v) => numberIn('chirpSeconds', v, 0.01, 3600)),
    levelDb: withDefault(o.levelDb, -6, (v) => numberIn('levelDb', v, -120, 0)),
    periodFrames: withDefault(o.periodFrames, Math.round(rate / 100), (v) => intIn('periodFrames', v, 16, rate)),
    bufferSecs: withDefault(o.bufferSecs, 10, (v) => numberIn('bufferSecs', v, 0.1, 600)),
  };
}

export default defineSource<ToneOptions>({
  name: 'tone',
  options: parseToneOptions,
  describe(o) {
    const what = o.chirpTo === null ? `${o.frequency} Hz sine` : `${o.frequency}→${o.chirpTo} Hz chirp`;
    return {
      kind: 'audio',
      rate: o.rate,
      channels: o.channels,
      format: o.format,
      periodFrames: o.periodFrames,
      ring: { capacityFrames: Math.max(o.periodFrames * 4, Math.round(o.bufferSecs * o.rate)) },
      description: `[tone] ${what}, ${o.channels} ch, ${o.rate} Hz, ${o.format}`,
      deviceId: 'tone',
    };
  },
  open(c, o) {
    const ctx = c as SampleSourceContext;
    const shape = { frequency: o.frequency, chirpTo: o.chirpTo ?? undefined, chirpSeconds: o.chirpSeconds, levelDb: o.levelDb };
    const periodNs = (BigInt(o.periodFrames) * 1_000_000_000n) / BigInt(o.rate);
    let run: AbortController | null = null;
    let generated = 0; // frames generated since open (the tone's own timeline)

    async function loop(signal: AbortSignal): Promise<void> {
      const t0 = ctx.clock.now();
      const base = generated;
      let next = t0;
      while (!signal.aborted) {
        // A period is "captured" when its last frame's time has passed: wait for that, then write it.
        next += periodNs;
        await ctx.clock.sleepUntil(next, signal);
        if (signal.aborted) break;
        let left = o.periodFrames;
        while (left > 0) {
          const r = ctx.samples.reserve(left);
          fillTone(r.samples, o.channels, o.rate, o.format, shape, generated);
          const captureNs = t0 + (BigInt(generated - base) * 1_000_000_000n) / BigInt(o.rate);
          ctx.samples.commit(r.frames, captureNs);
          generated += r.frames;
          left -= r.frames;
        }
      }
    }

    return {
      start() {
        run = new AbortController();
        loop(run.signal).catch((e) => ctx.error(e));
      },
      stop() {
        run?.abort();
        run = null;
      },
      close() {
        run?.abort();
      },
    };
  },
});
