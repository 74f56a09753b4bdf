/**
 * An open ALSA capture PCM (worker side): a typed wrapper over the addon's handle.
 */
import { InvalidOptionError, InvalidStateError, NativeError, type SampleFormat } from '@senseflow/core';
import { CAPTURE_DONE, CAPTURE_HELD, CAPTURE_WAKE, READ_XRUN, ReadOut, alsa, type AlsaAddon, type NativePcmInfo } from './native.js';
import { typedAlsaError, type CaptureChoices } from './native-errors.js';
import type { ReadStamp } from './timestamps.js';

export interface PcmParams {
  device: string;
  rate: number;
  channels: number;
  format: SampleFormat;
  periodFrames: number;
  bufferFrames: number;
}

/** Outcome of one {@link CapturePcm.read}; the same object is reused by every read. */
export interface PcmReadResult {
  kind: 'data' | 'timeout' | 'xrun' | 'disconnected';
  frames: number;
  stamp: ReadStamp;
  /** errno name for xrun/disconnected (`EPIPE`, `ESTRPIPE`, `ENODEV`, …). */
  errno: string;
  /** For an xrun: when the driver stopped (CLOCK_MONOTONIC ns), 0n if unknown. */
  xrunNs: bigint;
}

/** Outcome of one {@link CapturePcm.capture}; the same object is reused by every call. */
export interface PcmCaptureResult {
  /**
   * Why it returned: `done` (the deadline passed), `wake` (a reader sleeps on the ring: wake it, call again),
   * `held` (a chunk read and stamped but not committed: commit it where it is), or a read's outcome.
   */
  kind: 'done' | 'wake' | 'held' | 'timeout' | 'xrun' | 'disconnected';
  /** Chunks and frames committed. */
  chunks: number;
  frames: number;
  /** Chunks read whose capture time came from the receive clock (TIMESTAMP_FALLBACK), committed or held. */
  fallbacks: number;
  /** The last chunk read (committed or held): capture time of its first frame, frames, receive time. */
  captureNs: bigint;
  lastFrames: number;
  nowNs: bigint;
  /** Flags passed in that no committed chunk carried (it committed none). */
  flagsLeft: number;
  /** errno name for xrun/disconnected. */
  errno: string;
  /** For an xrun: when the driver stopped (CLOCK_MONOTONIC ns), 0n if unknown. */
  xrunNs: bigint;
}

const CAPTURE_KINDS: Record<number, PcmCaptureResult['kind']> = { [CAPTURE_DONE]: 'done', [CAPTURE_WAKE]: 'wake', [CAPTURE_HELD]: 'held', 0: 'timeout', [READ_XRUN]: 'xrun' };

/** Asks the device what it can capture (for error messages); null when it cannot be opened. */
export function probeChoices(device: string): CaptureChoices | null {
  try {
    const c = alsa().probe(device);
    return { rates: { min: c.rateMin, max: c.rateMax }, channels: { min: c.channelsMin, max: c.channelsMax }, formats: c.formats };
  } catch {
    return null;
  }
}

export class CapturePcm {
  private readonly out: Float64Array;
  /** The same memory as `out`, for the int64 ns slots. */
  private readonly out64: BigInt64Array;
  private closed = false;
  /** The memory the addon reads into (set with `target()` on first use, then passed by reference no more). */
  private mem: Uint8Array | null = null;
  readonly result: PcmReadResult = { kind: 'timeout', frames: 0, stamp: { tsNs: 0n, availFrames: 0, delayFrames: -1, nowNs: 0n }, errno: '', xrunNs: 0n };
  readonly captured: PcmCaptureResult = { kind: 'timeout', chunks: 0, frames: 0, fallbacks: 0, captureNs: 0n, lastFrames: 0, nowNs: 0n, flagsLeft: 0, errno: '', xrunNs: 0n };

  private constructor(
    private readonly native: AlsaAddon,
    readonly info: NativePcmInfo,
    readonly params: PcmParams,
  ) {
    // An addon built from other sources would fill other slots: say so instead of reading wrong stamps.
    if (native.readOutSlots !== Object.keys(ReadOut).length)
      throw new NativeError(`the ALSA addon fills ${native.readOutSlots} read slots, this build expects ${Object.keys(ReadOut).length}: rebuild it (pnpm --filter @senseflow/source-audio build)`);
    this.out = new Float64Array(native.readOutSlots);
    this.out64 = new BigInt64Array(this.out.buffer);
  }

  /** Opens and negotiates; throws DeviceNotFoundError / DeviceBusyError / UnsupportedFormatError (with choices). */
  static open(p: PcmParams): CapturePcm {
    const native = alsa();
    try {
      return new CapturePcm(native, native.open(p.device, p.rate, p.channels, p.format, p.periodFrames, p.bufferFrames), p);
    } catch (e) {
      const errno = (e as { errno?: string }).errno;
      throw typedAlsaError(e, p.device, errno === 'EINVAL' ? probeChoices(p.device) : null);
    }
  }

  start(): void {
    this.check();
    try {
      this.native.start(this.info.id);
    } catch (e) {
      throw typedAlsaError(e, this.params.device);
    }
  }

  stop(): void {
    if (!this.closed) this.native.stop(this.info.id);
  }

  /**
   * Reads into `mem` (a Uint8Array over the ring) at `byteOffset`: waits ≤ `timeoutMs` for `frames` frames,
   * then takes all the device has, up to `maxFrames` (default `frames`); on a timeout, what is there.
   */
  read(mem: Uint8Array, byteOffset: number, frames: number, timeoutMs: number, maxFrames = frames): PcmReadResult {
    this.check();
    if (mem !== this.mem) this.target(mem);
    const o = this.out;
    const r = this.result;
    const rc = this.native.read(this.info.id, byteOffset, frames, timeoutMs, maxFrames);
    r.frames = rc > 0 ? rc : 0;
    r.errno = '';
    if (rc > 0) {
      r.kind = 'data';
      r.stamp.tsNs = this.out64[ReadOut.TS_NS];
      r.stamp.availFrames = o[ReadOut.AVAIL];
      r.stamp.delayFrames = o[ReadOut.DELAY];
      r.stamp.nowNs = this.out64[ReadOut.NOW_NS];
    } else if (rc === 0) {
      r.kind = 'timeout';
    } else {
      r.kind = rc === READ_XRUN ? 'xrun' : 'disconnected';
      r.errno = this.native.errnoName(o[ReadOut.ERRNO]);
      r.xrunNs = rc === READ_XRUN ? this.out64[ReadOut.XRUN_NS] : 0n;
    }
    return r;
  }

  /**
   * The capture loop in native code: reserves ring space, reads a period (up to `maxFrames` when more piled
   * up) into it, stamps and commits it, again and again, until CLOCK_MONOTONIC passes `deadlineMs` (as
   * `process.hrtime`, in ms), a control message waits in `mailbox` (the worker's `ctx.mailbox`), a read
   * brings no data within `timeoutMs`, or a reader of the ring waits (then the caller wakes it:
   * `writer.nativeDone()`). `ring` is a Uint8Array over the whole sample ring; `flags` go on the first
   * committed chunk; with `commitFirst` false the first chunk is read and stamped only.
   */
  capture(ring: Uint8Array, mailbox: Int32Array | undefined, maxFrames: number, timeoutMs: number, deadlineMs: number, commitFirst: boolean, flags: number): PcmCaptureResult {
    this.check();
    if (ring !== this.mem) this.target(ring, mailbox);
    const o = this.out;
    const c = this.captured;
    const rc = this.native.capture(this.info.id, maxFrames, timeoutMs, deadlineMs, commitFirst, flags);
    c.kind = CAPTURE_KINDS[rc] ?? 'disconnected';
    c.chunks = o[ReadOut.CHUNKS];
    c.frames = o[ReadOut.FRAMES];
    c.fallbacks = o[ReadOut.FALLBACKS];
    c.flagsLeft = o[ReadOut.FLAGS_LEFT];
    c.lastFrames = o[ReadOut.LAST_FRAMES];
    c.captureNs = this.out64[ReadOut.CAPTURE_NS];
    c.nowNs = this.out64[ReadOut.NOW_NS];
    c.errno = rc < 0 ? this.native.errnoName(o[ReadOut.ERRNO]) : '';
    c.xrunNs = rc === READ_XRUN ? this.out64[ReadOut.XRUN_NS] : 0n;
    return c;
  }

  /** Points the addon's reads at `mem`. It must be over a SharedArrayBuffer: one that cannot be detached under the addon. */
  private target(mem: Uint8Array, mailbox?: Int32Array): void {
    if (!(mem.buffer instanceof SharedArrayBuffer)) throw new InvalidOptionError('mem', 'a Uint8Array over a SharedArrayBuffer (the ring)', 'a Uint8Array over an ArrayBuffer');
    this.native.target(this.info.id, mem, this.out, mailbox);
    this.mem = mem;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.info.id);
  }

  private check(): void {
    if (this.closed) throw new InvalidStateError(`ALSA PCM '${this.params.device}' is closed`);
  }
}
