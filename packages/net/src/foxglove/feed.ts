/**
 * One served stream in the Foxglove server's worker: while some client subscribes to `/NAME`, reads the
 * source's ring with core's RingConsumer (from the newest item on, as a `frames$` subscription would) and
 * encodes each item once for every client (the MCAP encoder: same schemas as a recording). Its losses —
 * the writer's causes in the ring plus what this server's consumers were lapped on or saw torn — are what
 * `/NAME/drops` reports.
 */
import { FrameRingReader, RingConsumer, SampleRingReader, type FrameView, type Logger, type SampleChunkView, type StreamSpec } from '@senseflow/core';
import { MessageEncoder } from '@senseflow/sinks';

/** Sends one encoded message on a channel (FoxgloveServer.sendMessage). */
export type SendMessage = (channel: number, atNs: bigint, payload: Uint8Array) => void;

export class FoxgloveFeed {
  private readonly encoder: MessageEncoder;
  /** Reads the writer's loss counters; never takes items. */
  private readonly counters: FrameRingReader | SampleRingReader;
  private readonly fields: number;
  private consumer: RingConsumer | null = null;
  private running: Promise<void> = Promise.resolve();
  /** `overwritten` of consumers already ended, plus audio chunks lapped while being encoded. */
  private lost = 0;

  constructor(
    readonly name: string,
    private readonly ring: SharedArrayBuffer,
    private readonly spec: StreamSpec,
    private readonly channel: number,
    private readonly send: SendMessage,
    private readonly log: Logger,
  ) {
    this.encoder = new MessageEncoder(name, spec);
    this.counters = spec.kind === 'audio' ? new SampleRingReader(ring) : new FrameRingReader(ring);
    this.fields = spec.kind === 'records' ? spec.fields.length : 0;
  }

  /** The first client subscribed to `/NAME`: start reading at the newest item. */
  start(): void {
    if (this.consumer) return;
    const c = new RingConsumer(this.ring);
    this.consumer = c;
    this.running = this.running.then(() => this.run(c)).catch((e: unknown) => this.log.warn({ err: e, stream: this.name }, 'stream ended with an error'));
  }

  /** The last client unsubscribed (or the server closes): stop reading. */
  stop(): Promise<void> {
    this.consumer?.close();
    this.consumer = null;
    return this.running;
  }

  /** Loss so far by cause: the writer's counters (`driver`, `ringFull`, …) and `overwritten` for this server's reads. */
  drops(): Record<string, number> {
    const d: Record<string, number> = this.counters.drops();
    d.overwritten = this.lost + (this.consumer?.drops().overwritten ?? 0);
    return d;
  }

  private async run(c: RingConsumer): Promise<void> {
    try {
      while (await c.wait()) {
        // A batch is bounded in count and time (maxBatch, maxBatchMs) so sockets and timers get their turn.
        for (let n = 0, it = c.take(); it; it = c.more(++n) ? c.take() : null) this.encode(it);
        c.release();
      }
    } finally {
      this.lost += c.drops().overwritten;
      c.close();
    }
  }

  private encode(it: FrameView | SampleChunkView): void {
    let payload: Uint8Array;
    if (this.spec.kind === 'audio') {
      const a = it as SampleChunkView;
      payload = this.encoder.audio(a.data, a.captureNs);
      // Lapped while we encoded it: lost (counted), never sent torn.
      if (!a.valid()) return void (this.lost += a.frames);
    } else {
      // A frame-ring item is leased until the next take(): the writer cannot tear it while we encode.
      const v = it as FrameView;
      payload =
        this.spec.kind === 'video'
          ? this.encoder.video(v.data, v.captureNs, v.width, v.height, v.stride)
          : this.encoder.record(new Float64Array(v.data.buffer, v.data.byteOffset, this.fields), v.seq, v.captureNs);
    }
    this.send(this.channel, it.captureNs, payload);
  }
}
