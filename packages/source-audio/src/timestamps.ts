/**
 * Capture times of ALSA chunks, tested against recorded stamps. The capture loop stamps chunks in native code
 * (native/pcm.cc, `ChunkCaptureTime`); `chunkCaptureTime()` here calls that same arithmetic.
 *
 * ALSA semantics (driver with `tstamp_mode = ENABLE`, `tstamp_type = MONOTONIC`):
 * - `snd_pcm_htimestamp()` gives `ts`, the CLOCK_MONOTONIC time of the latest hardware pointer update, and
 *   `avail`, the frames captured but not yet read at that instant.
 * - `snd_pcm_delay()` (capture) is the distance from the newest *sampled* frame to the application pointer:
 *   `avail` plus whatever the hardware holds in its FIFO (`runtime->delay`), so `delay ≥ avail`.
 *
 * Right after reading `n` frames, the newest frame the device had sampled at `ts` is `max(avail, delay)`
 * frames after our last one, so the chunk's FIRST frame was sampled at `ts − (max(avail, delay) + n) / rate`.
 * Plugin PCMs (pulse) synthesize `ts` at call time and report their server latency as `delay`, which the
 * same formula handles. Without a usable `ts` we back-date from the receive time instead and flag it.
 */

import { alsa } from './native.js';

/** Stamps returned by one native read (see `ReadOut` in native.ts). */
export interface ReadStamp {
  /** `snd_pcm_htimestamp()` in CLOCK_MONOTONIC ns, 0n when the PCM gave none. */
  tsNs: bigint;
  /** Frames still waiting at `tsNs`. */
  availFrames: number;
  /** `snd_pcm_delay()` after the read, or −1 when unknown. */
  delayFrames: number;
  /** CLOCK_MONOTONIC right after the read. */
  nowNs: bigint;
}

export interface ChunkTime {
  /** Capture time of the chunk's first frame. */
  captureNs: bigint;
  /** True when the driver stamp was missing or implausible and the receive time was used. */
  fallback: boolean;
}

const NS = 1_000_000_000n;

/** `frames` at `rate` as nanoseconds (rounded to the nearest). */
export function framesToNs(frames: number, rate: number): bigint {
  const f = Math.round(frames);
  // Per-chunk fast path: while the numerator is below 2^53 the double arithmetic is exact and floor(a / b)
  // equals the integer quotient, so this is the BigInt result below with one BigInt made instead of five.
  const num = f * 1e9 + (rate >> 1);
  if (f >= 0 && num <= Number.MAX_SAFE_INTEGER) return BigInt(Math.floor(num / rate));
  return (BigInt(f) * NS + BigInt(rate >> 1)) / BigInt(rate);
}

/** Seconds/nanoseconds pair (as the addon reports, in doubles) → bigint ns. */
export function timespecNs(sec: number, nsec: number): bigint {
  return BigInt(sec) * NS + BigInt(nsec);
}

/**
 * Capture time of the first of `frames` frames just read: the driver stamp back-dated by
 * max(avail, delay) + frames, or, when the stamp is missing, later than `nowNs` + 1 ms or more than `maxLagNs`
 * before it, the receive time back-dated by the delay (`fallback`). `maxLagNs`: use the ALSA buffer duration
 * plus some slack. The arithmetic is the addon's (`ChunkCaptureTime` in native/pcm.cc), the one the capture
 * loop stamps every chunk with in native code, so this loads the addon.
 */
export function chunkCaptureTime(s: ReadStamp, frames: number, rate: number, maxLagNs: bigint): ChunkTime {
  return alsa().chunkTime(s.tsNs, s.availFrames, s.delayFrames, s.nowNs, frames, rate, maxLagNs);
}

/**
 * Frames missing between a chunk and the next, from their capture times: what an xrun (or a disconnect)
 * cost. Rounded to whole frames; never negative.
 */
export function lostFramesBetween(prevCaptureNs: bigint, prevFrames: number, nextCaptureNs: bigint, rate: number): number {
  const expected = prevCaptureNs + framesToNs(prevFrames, rate);
  const gapNs = nextCaptureNs - expected;
  if (gapNs <= 0n) return 0;
  return Math.round((Number(gapNs) * rate) / 1e9);
}
