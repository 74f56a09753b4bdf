/**
 * Shared-memory protocol between the spectrum worker and its readers.
 *
 * Spectrum frames travel in a core frame ring (one writer: the worker; any number of readers, in any
 * thread). Each slot holds one frame:
 * ```
 * [0, 8)    BigInt64  seq: the hop index (= startFrame / hop; a jump means hops were lost)
 * [8, 16)   BigInt64  startFrame: index of the window's first sample in the source's sample stream
 * [16, …)   Float32   magnitudes, channels × bins, channel-major
 * ```
 * Slot fields: width = bins, height = channels, stride = FFT size, format = {@link ScaleCode}; the slot's
 * capture time is the capture time of the window's first sample.
 *
 * The control block is a small SharedArrayBuffer the main thread and the worker both see.
 */
export const PAYLOAD_HEADER_BYTES = 16;
export const PayloadI64 = { SEQ: 0, START_FRAME: 1 } as const;

export const ScaleCode = { linear: 1, db: 2 } as const;

/** Int32 control fields. */
export const Ctl32 = {
  /** Set to 1 (and notified) by the main thread to end the worker loop: the worker aborts its ring consumer. */
  STOP: 0,
  /** Set to 1 by the worker once it has attached and planned (Atomics.notify'd). */
  READY: 1,
  /** The engine the worker uses: 1 FFTW, 2 JS. */
  ENGINE: 2,
} as const;

/** BigInt64 control fields (index into a BigInt64Array over the block), written by the worker only. */
export const Ctl64 = {
  /** Frames computed and published. */
  COMPUTED: 2,
  /** Hops skipped because the source overwrote their samples before (or while) they were read, or the output ring was full. */
  LOST: 3,
  /** Nanoseconds spent computing (excluding waits). */
  BUSY_NS: 4,
  /** Wake-ups of the worker loop (source commits and coalescing pauses). */
  WAKES: 5,
  /** The next hop the worker will compute. */
  NEXT_HOP: 6,
} as const;

export const CONTROL_BYTES = 64;
export const EngineCode = { fftw: 1, js: 2 } as const;
