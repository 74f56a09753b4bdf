/**
 * The one writer for streams that arrive from elsewhere (TCP/WebSocket `connect()`, NATS `openRemote()`, any
 * later bridge). It owns what every bridge otherwise gets wrong on its own:
 *
 * - **Epochs.** A sender's life is an epoch. A new sender identity, or a seq (audio: start frame) that goes
 *   backwards, starts a new epoch: its first item is written at once (never dropped as "late"), and seq
 *   numbers of two lives are never compared. Local seqs stay monotonic: within the first epoch they equal the
 *   sender's (joining mid-stream loses nothing); a later epoch continues after the loss it caused.
 * - **Loss with its size.** Inside an epoch a jump in seq (audio: start frame) is counted exactly under
 *   `network`. Across epochs the loss is the larger of what the new sender's seq says it made before its
 *   first delivered item and the silence measured on the receive clock × the nominal rate.
 * - **Staleness.** A stream that stops arriving for max(1 s, 3 periods) is reported `stale` (and `live`
 *   again when items resume) through `onEvent`; the Source shows it as `stats.stale`.
 * - **Stop is not loss.** What the sender made while the stream was stopped (between `watch(false)` and
 *   `watch(true)`) was not wanted: the jump in seq at the first item after a start is not counted.
 *
 * Because the newest item written is always the newest in local seq, `latest()` never presents an item
 * from before a detected gap as the newest once an item from after it has arrived.
 */
import { monotonicNs } from '../clock.js';
import type { SourceEvent, StreamSpec } from '../contract/v1/index.js';
import { InvalidOptionError } from '../errors.js';
import { FrameRingWriter, type WritableSlot } from '../ring/frame-ring.js';
import { SampleRingWriter } from '../ring/sample-ring.js';

/** What a relay reports; bridges forward these as `custom` events named after `type` on `source.events$`. */
export type RelayEvent =
  /** A new sender life began; `lost` items (audio: frames) were lost across the change, counted under `network`. */
  | { type: 'epoch'; epoch: number; lost: number; unit: 'items' | 'frames'; by: 'seq' | 'time'; reason: string }
  /** Nothing arrived for `silentMs` (≥ the threshold) while the stream was running. */
  | { type: 'stale'; silentMs: number; thresholdMs: number }
  /** Items arrive again after a stale period of `silentMs`. */
  | { type: 'live'; silentMs: number };

export interface RelayOptions {
  /** The stream's spec: its nominal rate sets the staleness threshold and the time-based loss estimate. */
  spec: StreamSpec;
  /** Where epoch and staleness reports go (e.g. the controller's events, or `ctx.emit`). */
  onEvent?: (e: RelayEvent) => void;
  /** Override the staleness threshold (default max(1000 ms, 3 periods)). */
  staleAfterMs?: number;
  /** The receive clock (default CLOCK_MONOTONIC). */
  now?: () => bigint;
}

/** Metadata of one relayed item, as the sender stamped it. */
export interface RelayItem {
  /** The sender's seq (video/records) or start frame (audio). */
  seq: bigint;
  /** Capture time (sender's clock, or converted by the bridge). */
  captureNs: bigint;
  /** Local receive time (default: now). */
  receiveNs?: bigint;
  flags?: number;
  /** The sender's identity for its current life (a restart changes it), when the bridge knows one. */
  sender?: string;
}

/** Nominal items (audio: frames) per second of a stream. */
export function nominalRate(spec: StreamSpec): number {
  return spec.kind === 'video' ? spec.fps : spec.rate;
}

/** max(1 s, 3 periods): how long a running stream may be silent before it is reported stale. */
export function staleThresholdMs(spec: StreamSpec): number {
  const periodMs = spec.kind === 'audio' ? (1000 * spec.periodFrames) / spec.rate : 1000 / Math.max(nominalRate(spec), 1e-6);
  return Math.max(1000, 3 * periodMs);
}

export class RelayWriter {
  readonly frames: FrameRingWriter | null;
  readonly samples: SampleRingWriter | null;
  /** Sender lives seen (0 before the first item). */
  epoch = 0;
  /** Whether the stream is currently reported stale. */
  stale = false;
  readonly staleAfterMs: number;
  private readonly rate: number;
  private readonly now: () => bigint;
  private readonly onEvent: (e: RelayEvent) => void;
  private sender: string | undefined;
  /** The sender's next expected seq (audio: start frame) in this epoch; -1 before the first item. */
  private expected = -1n;
  /** Local seq minus sender seq in this epoch (frames only). */
  private offset = 0n;
  private lastReceiveNs = 0n;
  private lastUnits = 1;
  private watching = false;
  /** Started again after a stop: the next item's jump in seq is what was not wanted, not a loss. */
  private resuming = false;
  private timer: NodeJS.Timeout | null = null;
  private silentSince: bigint;

  constructor(writer: FrameRingWriter | SampleRingWriter, opts: RelayOptions) {
    this.frames = writer instanceof FrameRingWriter ? writer : null;
    this.samples = writer instanceof SampleRingWriter ? writer : null;
    if (!this.frames && !this.samples) throw new InvalidOptionError('writer', 'a FrameRingWriter or SampleRingWriter', writer);
    this.rate = nominalRate(opts.spec);
    this.staleAfterMs = opts.staleAfterMs ?? staleThresholdMs(opts.spec);
    this.now = opts.now ?? monotonicNs;
    this.onEvent = opts.onEvent ?? (() => {});
    this.silentSince = this.now();
  }

  /**
   * Starts (or stops) watching for staleness: call with true while the stream should be arriving (started,
   * connected or not), false while stopped. The check runs on an unref'd timer in this thread. Items the
   * sender made between false and true are not counted as lost (a new epoch meanwhile counts its loss from
   * the start on).
   */
  watch(on: boolean): void {
    if (on === this.watching) return;
    this.watching = on;
    if (on) {
      this.silentSince = this.now();
      if (this.expected >= 0n) {
        this.resuming = true;
        this.lastReceiveNs = this.silentSince;
      }
      const every = Math.max(50, Math.min(1000, this.staleAfterMs / 4));
      this.timer = setInterval(() => this.checkStale(), every);
      this.timer.unref();
    } else {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.stale = false;
    }
  }

  /** Reports staleness now if the stream has been silent too long (the timer calls this too). */
  checkStale(): void {
    if (!this.watching || this.stale) return;
    const silentMs = Number(this.now() - this.silentSince) / 1e6;
    if (silentMs >= this.staleAfterMs) {
      this.stale = true;
      this.onEvent({ type: 'stale', silentMs: Math.round(silentMs), thresholdMs: this.staleAfterMs });
    }
  }

  /**
   * The connection to the sender broke: the next item is flagged DISCONTINUITY (its loss is counted when it
   * arrives, by seq within the same sender life, else as a new epoch).
   */
  disconnected(): void {
    (this.frames ?? this.samples)!.markGap();
  }

  /**
   * Video/records: accounts `item` against the current epoch and claims a slot for it. Returns null for a
   * duplicate (seq already written in this epoch) or when every slot is leased (counted as `ringFull`).
   * Fill `slot.data` and the format fields, then call {@link commit}.
   */
  begin(item: RelayItem): WritableSlot | null {
    const w = this.frames!;
    return this.admit(item, 1) ? w.begin() : null;
  }

  /** Publishes a slot claimed with {@link begin}. Returns the local seq. */
  commit(slot: WritableSlot, byteLength: number, item: RelayItem): bigint {
    slot.flags |= item.flags ?? 0;
    return this.frames!.commit(slot, byteLength, item.captureNs, item.receiveNs ?? this.lastReceiveNs);
  }

  abort(slot: WritableSlot): void {
    this.frames!.abort(slot);
  }

  /** Video/records convenience: one whole item. Returns the local seq, or null when not written. */
  write(item: RelayItem, payload: Uint8Array, fields?: { width?: number; height?: number; stride?: number; format?: number }): bigint | null {
    const slot = this.begin(item);
    if (!slot) return null;
    if (payload.byteLength > slot.data.byteLength) {
      this.abort(slot);
      this.frames!.reportDrop('network', 1);
      return null;
    }
    slot.data.set(payload);
    if (fields) Object.assign(slot, fields);
    return this.commit(slot, payload.byteLength, item);
  }

  /**
   * Audio: appends one chunk (`item.seq` is the sender's start frame; `payload` interleaved samples), split
   * at the ring's end. Returns false for a duplicate.
   */
  writeAudio(item: RelayItem, payload: Uint8Array): boolean {
    const w = this.samples!;
    const bpf = w.bytesPerFrame;
    const total = Math.floor(payload.byteLength / bpf);
    if (!this.admit(item, total)) return false;
    const receiveNs = item.receiveNs ?? this.lastReceiveNs;
    let done = 0;
    while (done < total) {
      const r = w.reserve(Math.min(total - done, w.capacityFrames));
      new Uint8Array(w.sab, r.byteOffset, r.byteLength).set(payload.subarray(done * bpf, (done + r.frames) * bpf));
      w.commit(r.frames, item.captureNs + (BigInt(done) * 1_000_000_000n) / BigInt(w.rate), receiveNs, done === 0 ? (item.flags ?? 0) : 0);
      done += r.frames;
    }
    return true;
  }

  /** Stops the staleness timer. The ring is the caller's. */
  close(): void {
    this.watch(false);
  }

  /**
   * Epoch and gap accounting for an item of `units` (audio: frames; else 1). Returns false for a duplicate.
   * Also refreshes liveness.
   */
  private admit(item: RelayItem, units: number): boolean {
    const receiveNs = item.receiveNs ?? this.now();
    item.receiveNs = receiveNs;
    const newSender = item.sender !== undefined && this.sender !== undefined && item.sender !== this.sender;
    if (this.expected < 0n) this.startEpoch(item, units, receiveNs, 'first item', false);
    else if (newSender) this.startEpoch(item, units, receiveNs, 'new sender', true);
    else if (item.seq < this.expected) {
      // Backwards. An exact repeat of the last item is a duplicate; anything earlier is a sender reset.
      if (item.seq + BigInt(this.lastUnits) === this.expected) return false;
      this.startEpoch(item, units, receiveNs, 'seq reset', true);
    } else if (item.seq > this.expected) {
      const lost = item.seq - this.expected;
      if (this.frames) this.frames.skipTo(item.seq + this.offset, 'network', !this.resuming);
      else if (!this.resuming) this.samples!.reportDrop('network', Number(lost));
    }
    this.resuming = false;
    if (item.sender !== undefined) this.sender = item.sender;
    this.expected = item.seq + BigInt(units);
    this.lastUnits = units;
    this.lastReceiveNs = receiveNs;
    if (this.stale) {
      const silentMs = Math.round(Number(receiveNs - this.silentSince) / 1e6);
      this.stale = false;
      this.onEvent({ type: 'live', silentMs });
    }
    this.silentSince = receiveNs;
    return true;
  }

  private startEpoch(item: RelayItem, units: number, receiveNs: bigint, reason: string, counted: boolean): void {
    this.epoch++;
    const w = (this.frames ?? this.samples)!;
    if (!counted) {
      // Joining a stream mid-way loses nothing: local seqs start where the sender's are.
      if (this.frames) this.frames.skipTo(item.seq, 'network', false);
      this.offset = this.frames ? this.frames.nextSeq - item.seq : 0n;
      return;
    }
    // Loss across lives: what the new sender made before this item (by seq) or the silence × rate, whichever
    // is larger (the old sender's unseen tail is only visible in time).
    const bySeq = Number(item.seq);
    const silenceS = Number(receiveNs - this.lastReceiveNs) / 1e9;
    // From the previous item's arrival to this one's, `units` arrive when nothing is lost.
    const byTime = Math.max(0, Math.round(silenceS * this.rate) - units);
    const lost = Math.max(bySeq, byTime);
    const by = byTime > bySeq ? 'time' : 'seq';
    if (this.frames) {
      const base = this.frames.nextSeq;
      this.frames.skipTo(base + BigInt(lost), 'network', true);
      if (lost === 0) this.frames.markGap();
      this.offset = this.frames.nextSeq - item.seq;
    } else {
      w.reportDrop('network', lost);
      if (lost === 0) w.markGap();
    }
    this.onEvent({ type: 'epoch', epoch: this.epoch, lost, unit: this.samples ? 'frames' : 'items', by, reason });
  }
}

/** A relay report as the `custom` event a Source shows on `events$` (name = the report's type). */
export function relayEventToSourceEvent(e: RelayEvent, atNs: bigint = monotonicNs()): SourceEvent {
  return { type: 'custom', atNs, name: e.type, payload: e };
}
