/**
 * The receive side of a raw TCP connection (protocol v1, back-to-back messages): headers are parsed as they
 * complete; a video/records payload lands in the ring slot the relay hands out; anything else is assembled,
 * then handled whole.
 *
 * Zero-copy: the socket reads through {@link TcpReceiver.readBuffer} (net.Socket `onread`), which hands the
 * kernel the rest of the current payload's destination — the ring slot itself — while at least
 * {@link READ_BYTES} of it remain, so a raw frame goes from the kernel into the slot with no copy in
 * between and no Buffer per chunk. Headers, small messages and a payload's last few kilobytes arrive in one
 * reusable scratch buffer and are copied from there (under 1 % of a 1080p frame).
 */
import { monotonicNs, type Logger, type RelayWriter, type WritableSlot } from '@senseflow/core';
import { HEADER_BYTES, MsgType, readHeader, type Header, type Message } from './codec.js';

/** Size of the scratch read, and the payload remainder below which a read goes to scratch instead. */
export const READ_BYTES = 64 * 1024;

export interface TcpReceiverHooks {
  maxMessageBytes: number;
  /** Whether the handshake is done (before it, every message is handled whole). */
  answered(): boolean;
  /** The relay that takes this stream's video/records now, or null (not wanted: the payload is skipped). */
  relayFor(stream: number): RelayWriter | null;
  /** The sender's identity for its current life (the session in STREAMS). */
  sender(): string | undefined;
  /** A whole message that is not written in place (control, audio, anything before the handshake). */
  onWhole(m: Message): void;
  log: Logger;
}

interface OpenSlot {
  relay: RelayWriter;
  slot: WritableSlot;
  item: { seq: bigint; captureNs: bigint; receiveNs: bigint; flags: number; sender?: string };
}

export class TcpReceiver {
  private readonly head = new Uint8Array(HEADER_BYTES);
  private headFill = 0;
  private h: Header | null = null;
  /** Payload bytes of the current message still to come. */
  private left = 0;
  /** Where the current payload goes (its ring slot, or a buffer for a whole message); null = skipped. */
  private dest: Uint8Array | null = null;
  private fill = 0;
  private slot: OpenSlot | null = null;
  private readonly scratch = new Uint8Array(READ_BYTES);
  /** The buffer the last {@link readBuffer} call handed out. */
  private given: Uint8Array = this.scratch;

  constructor(private readonly hooks: TcpReceiverHooks) {}

  /**
   * The buffer the socket's next read fills (`onread.buffer`; net.Socket calls it again after every read):
   * the rest of the payload's destination while at least READ_BYTES of it remain, else the scratch buffer.
   */
  readonly readBuffer = (): Uint8Array => {
    this.given = this.dest && this.left >= READ_BYTES ? this.dest.subarray(this.fill, this.fill + this.left) : this.scratch;
    return this.given;
  };

  /** `n` bytes arrived in the buffer {@link readBuffer} handed out (`onread.callback`). */
  onRead(n: number): void {
    if (this.given === this.scratch) return this.push(this.scratch.subarray(0, n));
    this.fill += n;
    this.left -= n;
    if (this.left === 0) this.finish();
  }

  /** Bytes that arrived somewhere else (a copy is made of what the current payload needs). */
  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      if (!this.h) {
        const n = Math.min(HEADER_BYTES - this.headFill, chunk.length - off);
        this.head.set(chunk.subarray(off, off + n), this.headFill);
        this.headFill += n;
        off += n;
        if (this.headFill < HEADER_BYTES) return;
        this.headFill = 0;
        this.start(readHeader(this.head, this.hooks.maxMessageBytes));
        if (this.left === 0) this.finish();
        continue;
      }
      const n = Math.min(this.left, chunk.length - off);
      if (this.dest) this.dest.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      this.left -= n;
      if (this.left === 0) this.finish();
    }
  }

  /**
   * The connection ended. A payload still arriving is abandoned: its slot goes back to the ring unpublished
   * (else the writer would stay mid-item and the next connection could never begin one) and the item is
   * counted as lost on the network.
   */
  close(): void {
    if (this.slot) {
      const { relay, slot } = this.slot;
      relay.abort(slot);
      relay.frames!.reportDrop('network', 1);
    }
    this.slot = null;
    this.h = null;
    this.dest = null;
    this.left = 0;
    this.headFill = 0;
  }

  private start(h: Header): void {
    this.h = h;
    this.left = h.payloadBytes;
    this.fill = 0;
    this.dest = null;
    const inPlace = h.type === MsgType.VIDEO || h.type === MsgType.RECORDS;
    const relay = this.hooks.answered() && inPlace ? this.hooks.relayFor(h.stream) : null;
    if (relay) {
      const item = { seq: h.seq, captureNs: h.captureNs, receiveNs: monotonicNs(), flags: h.flags, sender: this.hooks.sender() };
      const slot = relay.begin(item);
      if (!slot) return; // a duplicate, or every slot leased (counted): the payload is skipped
      if (h.payloadBytes > slot.data.byteLength) {
        relay.abort(slot);
        relay.frames!.reportDrop('network', 1);
        this.hooks.log.warn({ bytes: h.payloadBytes, capacity: slot.data.byteLength }, 'received item larger than the ring slot; dropped');
        return;
      }
      if (h.type === MsgType.VIDEO) Object.assign(slot, { width: h.f0, height: h.f1, stride: h.f2, format: h.f3 });
      this.slot = { relay, slot, item };
      this.dest = slot.data;
      return;
    }
    if (inPlace) return; // not wanted: skipped without buffering
    this.dest = new Uint8Array(h.payloadBytes);
  }

  private finish(): void {
    const h = this.h!;
    const body = this.dest;
    this.h = null;
    this.dest = null;
    if (this.slot) {
      const { relay, slot, item } = this.slot;
      this.slot = null;
      // Begun before its stream was stopped or released: it must not land in the ring after stop() resolved.
      if (this.hooks.relayFor(h.stream) !== relay) return relay.abort(slot);
      relay.commit(slot, h.payloadBytes, item);
      return;
    }
    if (body) this.hooks.onWhole({ ...h, payload: body });
  }
}
