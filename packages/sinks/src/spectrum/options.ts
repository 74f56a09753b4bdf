/** Options of the spectrum sink: validated here, naming the bad parameter and the valid choices. */
import { InvalidOptionError, intIn, numberIn, oneOf, optionsObject, type LogLevel, type Logger, type SampleFormat } from '@senseflow/core';
import { checkSize } from '../fft/checks.js';
import { WINDOW_NAMES, type WindowName } from '../fft/window.js';

export interface SpectrumOptions {
  /** FFT size in frames: a power of two from 16 to 2^22 (default 2048). */
  size?: number;
  /** Frames between window starts, 1 … 2^22 (default size / 2). Windows start at multiples of `hop` in the source's stream. */
  hop?: number;
  /** Window function (default `hann`). */
  window?: WindowName;
  /** `db` (default): dB relative to full scale, floored at `floorDb`. `linear`: amplitude, 1.0 = full-scale sine. */
  scale?: 'db' | 'linear';
  /** Source channels to analyse, in output order (default: all). */
  channels?: number[];
  /** Lowest dB value written (default −160). */
  floorDb?: number;
  /** Where to start: the next whole hop after attaching (`now`, default) or the oldest hop the ring still holds. */
  from?: 'now' | 'oldest';
  /** FFT engine (default `auto`: FFTW if the addon loads, else JS). */
  engine?: 'auto' | 'fftw' | 'js';
  /** Spectrum frames the output ring holds for slow readers (default: ~2 s worth, 16 … 4096). */
  slots?: number;
  /**
   * Let hops accumulate for up to this many ms and compute them in one wake-up (0 … 1000, default
   * {@link DEFAULT_COALESCE_MS}): the worker sleeps until the next hop's last sample is due at the source's
   * rate plus this long, and computes every hop ready by then. Subscribers still get every frame, in order,
   * with the same values, in batches; the price is up to that much latency (more only for a source that
   * delivers ahead of its rate, e.g. a backlog burst: it is then polled every `coalesceMs`). 0 computes each
   * hop as soon as its last sample is in (the worker wakes for every source chunk; docs/spectrum.md has the
   * measured cost of both).
   */
  coalesceMs?: number;
  logger?: Logger;
  logLevel?: LogLevel;
}

/** Everything the computation needs, plain data (it crosses to the worker). */
export interface ResolvedSpectrumOptions {
  size: number;
  hop: number;
  window: WindowName;
  scale: 'db' | 'linear';
  channels: number[];
  floorDb: number;
  from: 'now' | 'oldest';
  engine: 'auto' | 'fftw' | 'js';
  slots: number;
  coalesceMs: number;
  /** From the source ring. */
  rate: number;
  format: SampleFormat;
  sourceChannels: number;
}

/**
 * Default `coalesceMs`: a display refreshes at 20–60 Hz, so 50 ms of added latency is small there. At N = 4096,
 * hop 2048, 48 kHz it makes one worker wake-up per two hops (~12 a second; a wake-up costs several hundred µs
 * of CPU on a VM: 0.61–1.11 % of a core in all). 100 ms would make it one per three hops, 0.15–0.33 % of a
 * core less (docs/spectrum.md, `bench/fft.bench.mjs --only steady --coalesce 50,100`).
 */
export const DEFAULT_COALESCE_MS = 50;

const KEYS = ['size', 'hop', 'window', 'scale', 'channels', 'floorDb', 'from', 'engine', 'slots', 'coalesceMs', 'logger', 'logLevel'];

export function resolveSpectrumOptions(raw: unknown, ring: { rate: number; format: SampleFormat; channels: number; capacityFrames: number }): ResolvedSpectrumOptions {
  const o = optionsObject(raw, KEYS);
  const size = checkSize(o.size ?? 2048);
  if (size > ring.capacityFrames)
    throw new InvalidOptionError('size', `at most the source ring's capacity (${ring.capacityFrames} frames)`, size);
  const hop = intIn('hop', o.hop ?? size / 2, 1, 1 << 22);
  let channels: number[];
  if (o.channels === undefined) channels = Array.from({ length: ring.channels }, (_, i) => i);
  else {
    const c = o.channels;
    const ok = Array.isArray(c) && c.length > 0 && c.every((x) => Number.isInteger(x) && x >= 0 && x < ring.channels) && new Set(c).size === c.length;
    if (!ok) throw new InvalidOptionError('channels', `a non-empty list of distinct channel indices from 0 to ${ring.channels - 1}`, c);
    channels = [...(c as number[])];
  }
  const perSecond = ring.rate / hop;
  return {
    size,
    hop,
    window: oneOf('window', o.window ?? 'hann', WINDOW_NAMES),
    scale: oneOf('scale', o.scale ?? 'db', ['db', 'linear'] as const),
    channels,
    floorDb: numberIn('floorDb', o.floorDb ?? -160, -400, 0),
    from: oneOf('from', o.from ?? 'now', ['now', 'oldest'] as const),
    engine: oneOf('engine', o.engine ?? 'auto', ['auto', 'fftw', 'js'] as const),
    slots: intIn('slots', o.slots ?? Math.min(4096, Math.max(16, Math.ceil(2 * perSecond))), 16, 4096),
    coalesceMs: numberIn('coalesceMs', o.coalesceMs ?? DEFAULT_COALESCE_MS, 0, 1000),
    rate: ring.rate,
    format: ring.format,
    sourceChannels: ring.channels,
  };
}
