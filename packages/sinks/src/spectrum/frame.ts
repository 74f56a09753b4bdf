/** A spectrum frame as readers see it, built over a frame-ring slot without copying. */
import type { FrameView } from '@senseflow/core';
import { PAYLOAD_HEADER_BYTES, PayloadI64, ScaleCode } from './layout.js';

export interface SpectrumFrame {
  kind: 'spectrum';
  /** Hop index in the source's stream (startFrame / hop). A jump means hops were lost (see `flags`). */
  seq: bigint;
  /** Index of the window's first sample in the source's sample stream. */
  startFrame: bigint;
  /** Capture time (CLOCK_MONOTONIC ns) of the window's first sample. */
  captureNs: bigint;
  /** When the frame was computed. */
  receiveNs: bigint;
  /** ItemFlags: DISCONTINUITY when samples or hops were lost in or right before this window; TIMESTAMP_FALLBACK. */
  flags: number;
  size: number;
  hop: number;
  rate: number;
  bins: number;
  scale: 'db' | 'linear';
  /** The source channels analysed, in the order of `magnitudes`. */
  channels: readonly number[];
  /** channels.length × bins values, channel-major. A view: valid during the callback (frames$) — `copy()` to keep. */
  magnitudes: Float32Array;
  /** Bin frequencies in Hz (shared by every frame of a stream). */
  frequencies: Float32Array;
  /** The `bins` magnitudes of the i-th analysed channel (a view). */
  channel(i: number): Float32Array;
  /** A detached copy that stays valid forever. */
  copy(): SpectrumFrame;
}

export interface FrameStatics {
  size: number;
  hop: number;
  rate: number;
  channels: readonly number[];
  frequencies: Float32Array;
}

export function makeFrame(
  fields: Omit<SpectrumFrame, 'kind' | 'channel' | 'copy' | 'bins' | keyof FrameStatics>,
  s: FrameStatics,
): SpectrumFrame {
  const bins = s.frequencies.length;
  // Fields listed one by one (not spread): a literal of fixed shape is built from V8's boilerplate.
  const frame: SpectrumFrame = {
    kind: 'spectrum',
    seq: fields.seq,
    startFrame: fields.startFrame,
    captureNs: fields.captureNs,
    receiveNs: fields.receiveNs,
    flags: fields.flags,
    scale: fields.scale,
    magnitudes: fields.magnitudes,
    size: s.size,
    hop: s.hop,
    rate: s.rate,
    bins,
    channels: s.channels,
    frequencies: s.frequencies,
    channel: (i) => frame.magnitudes.subarray(i * bins, (i + 1) * bins),
    copy: () => makeFrame({ ...fields, magnitudes: frame.magnitudes.slice() }, s),
  };
  return frame;
}

/** Typed views over each slot of a ring, made once per slot (by the slot's byte offset in the ring's buffer). */
const slotViews = new WeakMap<ArrayBufferLike, Map<number, { head: BigInt64Array; mags: Float32Array }>>();

/** A frame over a ring slot (zero-copy). */
export function frameFromView(v: FrameView, s: FrameStatics): SpectrumFrame {
  const buf = v.data.buffer;
  let slots = slotViews.get(buf);
  if (!slots) slotViews.set(buf, (slots = new Map()));
  let views = slots.get(v.data.byteOffset);
  if (!views || views.mags.length !== v.width * v.height) {
    views = {
      head: new BigInt64Array(buf, v.data.byteOffset, 2),
      mags: new Float32Array(buf, v.data.byteOffset + PAYLOAD_HEADER_BYTES, v.width * v.height),
    };
    slots.set(v.data.byteOffset, views);
  }
  return makeFrame(
    {
      seq: views.head[PayloadI64.SEQ],
      startFrame: views.head[PayloadI64.START_FRAME],
      captureNs: v.captureNs,
      receiveNs: v.receiveNs,
      flags: v.flags,
      scale: v.format === ScaleCode.linear ? 'linear' : 'db',
      magnitudes: views.mags,
    },
    s,
  );
}
