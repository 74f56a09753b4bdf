/**
 * The one place that loads the ALSA addon. Everything else goes through {@link alsa}, which loads it on first
 * use — per thread, since the addon is context-aware. `node-gyp-build` picks `native/build/Release/` when it
 * was compiled here, else the prebuild for this platform and CPU (`native/prebuilds/linux-x64|linux-arm64/`).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeError } from '@senseflow/core';

/** What the addon negotiated for an open capture PCM. */
export interface NativePcmInfo {
  id: number;
  rate: number;
  channels: number;
  periodFrames: number;
  bufferFrames: number;
  bytesPerFrame: number;
  /** alsa-lib PCM type (`HW`, `IOPLUG` for pulse, `FILE`, …). */
  pcmType: string;
}

export interface NativeCaps {
  rateMin: number;
  rateMax: number;
  channelsMin: number;
  channelsMax: number;
  formats: string[];
}

export interface NativeHint {
  name: string | null;
  description: string | null;
  ioid: 'Input' | 'Output' | null;
}

export interface NativeCard {
  card: number;
  id: string;
  name: string;
  longName: string;
  devices: { device: number; name: string; subdevices: number }[];
}

/** Return codes of `read()` besides a frame count (and of `capture()`, with 0 for a read that timed out). */
export const READ_XRUN = -1;
export const READ_DISCONNECTED = -2;
/** Return codes of `capture()` (mirror `kCapture*` in native/common.h). */
export const CAPTURE_DONE = 1;
export const CAPTURE_WAKE = 2;
export const CAPTURE_HELD = 3;

/**
 * Slots of the `out` array `read()` fills (mirrors `enum ReadOut` in native/common.h), 8 bytes each: a double
 * (Float64Array view) unless named `_NS`, which are int64 CLOCK_MONOTONIC ns (BigInt64Array view of the same memory).
 */
export const ReadOut = {
  TS_NS: 0,
  AVAIL: 1,
  DELAY: 2,
  NOW_NS: 3,
  ERRNO: 4,
  XRUN_NS: 5,
  CHUNKS: 6,
  FRAMES: 7,
  FALLBACKS: 8,
  CAPTURE_NS: 9,
  LAST_FRAMES: 10,
  FLAGS_LEFT: 11,
} as const;

/** The addon's surface (see native/addon.cc). */
export interface AlsaAddon {
  alsaVersion: string;
  readOutSlots: number;
  open(device: string, rate: number, channels: number, format: string, periodFrames: number, bufferFrames: number): NativePcmInfo;
  start(id: number): void;
  stop(id: number): void;
  /** Where the next reads of `id` land: `mem` (over a SharedArrayBuffer) for frames, `out` for stamps; kept referenced until close. */
  target(id: number, mem: Uint8Array, out: Float64Array, mailbox?: Int32Array): void;
  /** Waits ≤ `timeoutMs` for `frames` frames, then reads all there are (≤ `maxFrames`) into the target at `byteOffset`, waiting ≤ `timeoutMs`. → frames, READ_XRUN or READ_DISCONNECTED. */
  read(id: number, byteOffset: number, frames: number, timeoutMs: number, maxFrames: number): number;
  /**
   * Reads, stamps and commits chunks of ≤ `maxFrames` into the sample ring given to `target()` (the whole
   * ring) until CLOCK_MONOTONIC passes `deadlineMs`, a control message waits in the target's mailbox, a read
   * brings no data, or a reader waits. `flags` go on
   * the first chunk; with `commitFirst` false the first chunk is only read and stamped. → 0 (no data),
   * READ_XRUN, READ_DISCONNECTED, CAPTURE_DONE, CAPTURE_WAKE or CAPTURE_HELD; counts in `out`.
   */
  capture(id: number, maxFrames: number, timeoutMs: number, deadlineMs: number, commitFirst: boolean, flags: number): number;
  /** The capture-time arithmetic `capture()` uses (see chunkCaptureTime). */
  chunkTime(tsNs: bigint, availFrames: number, delayFrames: number, nowNs: bigint, frames: number, rate: number, maxLagNs: bigint): { captureNs: bigint; fallback: boolean };
  close(id: number): void;
  openCount(): number;
  /** `EPIPE` for 32, … */
  errnoName(errno: number): string;
  nameHints(): NativeHint[];
  cards(): NativeCard[];
  probe(device: string): NativeCaps;
}

/** The shape of errors the addon throws. */
export interface NativeAlsaErrorFields {
  errno: string;
  errnoNumber: number;
  op: string;
  device: string;
  alsaMessage?: string;
}

export function isNativeAlsaError(e: unknown): e is Error & NativeAlsaErrorFields {
  return e instanceof Error && typeof (e as unknown as NativeAlsaErrorFields).errno === 'string' && typeof (e as unknown as NativeAlsaErrorFields).op === 'string';
}

let addon: AlsaAddon | undefined;

/** The ALSA addon, loaded on first call. Throws {@link NativeError} with what to do when it cannot load. */
export function alsa(): AlsaAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  // src/native.ts and dist/*.js both sit one level below the package root.
  const path = fileURLToPath(new URL('../native', import.meta.url));
  try {
    addon = (require('node-gyp-build') as (dir: string) => unknown)(path) as AlsaAddon;
  } catch (e) {
    const reason = (e as Error).message.trim();
    throw new NativeError(
      `could not load the ALSA capture addon (${path}): ${reason}\n` +
        'Possible solutions:\n' +
        '- install the ALSA library: apt-get install libasound2 (the prebuilt addon links against it)\n' +
        '- no prebuild for this platform: install build-essential and libasound2-dev, then npm rebuild @senseflow/source-audio\n' +
        '  (in this repo: pnpm --filter @senseflow/source-audio build)\n' +
        '- check that the addon was built for this Node.js (node -p process.versions.modules)',
      { path, reason },
    );
  }
  return addon;
}
