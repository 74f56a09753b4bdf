/**
 * The main-thread face of a source: observables and synchronous accessors over its ring, plus lifecycle.
 * The ring is read in place; the worker is told only start/stop/close/controls.
 */
import { Observable, Subject, share, type Subscriber } from 'rxjs';
import type { Logger } from 'pino';
import { createLevels, levels, type ChannelLevels } from './audio-levels.js';
import { monotonicNs } from './clock.js';
import type { ControlInfo, SourceEvent, StreamSpec } from './contract/v1/index.js';
import { InvalidOptionError, InvalidStateError, type SerializedError } from './errors.js';
import type { ControlCall } from './worker/protocol.js';
import { audioChunk, recordItem, recordShape, videoFrame, type AudioChunk, type FrameCheck, type RecordItem, type SourceItem, type VideoFrame } from './items.js';
import { DEFAULT_MAX_DELAY_MS, RingConsumer, markRingClosed } from './ring/consumer.js';
import { FrameRingReader, type FrameView } from './ring/frame-ring.js';
import { SampleRingReader, type SampleArray, type SampleBlock, type SampleChunkView } from './ring/sample-ring.js';

/** `error`: past its restart limit (or crashed with restart off), the source delivers nothing more; see `stats.error`. */
export type SourceState = 'stopped' | 'running' | 'closed' | 'error';

export interface LatencySummary {
  /** Milliseconds: median, 99th percentile and maximum over the stats window. */
  p50: number;
  p99: number;
  max: number;
}

export interface SourceStats {
  atNs: bigint;
  /** The source's state when the stats were taken (`error` once it failed for good). */
  state: SourceState;
  /** In the `error` state: why (the last crash). */
  error?: SerializedError;
  /** Items the source has written since it opened (audio: chunks). */
  items: number;
  /** Items per second over the last stats interval; audio: samples (frames) per second, like `sampleRate`. */
  rate: number;
  /** Audio only: frames per second measured over the last interval. */
  sampleRate?: number;
  /** Audio only: chunks per second (how the writer batches its samples). */
  chunkRate?: number;
  /** Loss by cause: the writer's (`driver`, `ringFull`, `disconnect`, `restart`) plus `overwritten` for this Source's subscribers. Audio counts frames. */
  drops: Record<string, number>;
  /** Discontinuities recorded in the stream. */
  gaps: number;
  /** Capture → delivery to a frames$ subscriber on this thread. Null when nothing was delivered. */
  latencyMs: LatencySummary | null;
  /** Capture → the source's receive time (driver and transfer delay), from the items seen. */
  captureToReceiveMs: LatencySummary | null;
  /** Audio only: level meter over the last 100 ms. */
  level?: ChannelLevels;
  /**
   * True while a relayed stream (network, NATS) has been silent for max(1 s, 3 periods): its `latest()` is
   * then old. Set and cleared by the relay's `stale` / `live` events; always false for a local source.
   */
  stale: boolean;
}

/**
 * What a {@link Source} drives: the worker host for local sources, or anything else that owns a ring and
 * answers the same control calls (a network or bus relay). Implement it to present your own feed as a Source.
 */
export interface SourceController {
  readonly spec: StreamSpec;
  /** The ring the Source reads. */
  readonly sab: SharedArrayBuffer;
  /** The plugin's name, shown as `source.name`. */
  readonly definition: string;
  readonly events: Subject<SourceEvent>;
  /** Set when the controller gave up (past its restart limit): the Source is then in the `error` state. */
  readonly failure?: SerializedError | null;
  /** Whether the user wants capture running (kept across restarts and reconnects). */
  wantRunning: boolean;
  request(call: ControlCall): Promise<unknown>;
  close(opts?: { force?: boolean; timeoutMs?: number }): Promise<void>;
}

export interface SourceInternals {
  host: SourceController;
  log: Logger;
  statsIntervalMs: number;
  /**
   * Longest delay (ms) a frames$ wake-up may be held back to deliver items in a batch (default 1.5: a 1 kHz
   * stream wakes its subscriber every second item, each within ~1 ms of its commit). 0 wakes for every item.
   */
  batchMs?: number;
}

/** Latency samples kept for percentiles (a small fixed window; no allocation per item). */
class LatencyWindow {
  private readonly buf = new Float64Array(512);
  private n = 0;
  add(ms: number): void {
    this.buf[this.n++ % this.buf.length] = ms;
  }
  takeSummary(): LatencySummary | null {
    const count = Math.min(this.n, this.buf.length);
    if (count === 0) return null;
    const s = this.buf.slice(0, count).sort();
    this.n = 0;
    return { p50: s[Math.floor(count * 0.5)], p99: s[Math.min(count - 1, Math.floor(count * 0.99))], max: s[count - 1] };
  }
}

/**
 * A live source. Get one from `openSource()` or a package's opener (`openCamera`, `openMicrophone`, …).
 *
 * Guarantees:
 * - `frames$` delivers every item in order to each subscriber (each has its own cursor); items lost to a
 *   slow subscriber are skipped and counted (`stats.drops.overwritten`), never delivered torn.
 * - `latest()` never returns an item older than the newest complete one; the returned view stays valid
 *   until the next `latest()` call on this Source.
 * - After `close()`, every method (`drops()` included) throws {@link InvalidStateError}; `close()` returns the
 *   same promise to every caller, resolved once teardown is over.
 */
export class Source<I extends SourceItem = SourceItem> implements AsyncDisposable {
  readonly spec: StreamSpec;
  /** The ring's SharedArrayBuffer: attach a reader to it from any worker (`attachReader`, `RingConsumer`). */
  readonly ring: SharedArrayBuffer;
  /** Lifecycle and device events (disconnects, crashes, restarts, errors, custom plugin events). */
  readonly events$: Observable<SourceEvent>;
  /** Every item, in order, per subscriber. Payload views are valid during the callback (use `copy()` to keep). */
  readonly frames$: Observable<I>;
  /** Rate, drops, latency (and audio level) every `statsIntervalMs` while subscribed. */
  readonly stats$: Observable<SourceStats>;

  private _state: SourceState = 'stopped';
  private closing: Promise<void> | null = null;
  private readonly host: SourceController;
  private readonly log: Logger;
  private readonly latestReader: FrameRingReader | SampleRingReader;
  private historyReader: FrameRingReader | null = null;
  private readonly subscribers = new Set<{ consumer: RingConsumer; sub: Subscriber<I>; done: Promise<void> }>();
  private overwrittenGone = 0;
  private readonly batchMs: number;
  private readonly latency = new LatencyWindow();
  private readonly receiveLatency = new LatencyWindow();
  private readonly toItem: (v: FrameView | SampleChunkView, check: FrameCheck) => I;
  private readonly closed$ = new Subject<void>();
  private stale = false;

  constructor(internals: SourceInternals) {
    this.host = internals.host;
    this.log = internals.log;
    this.spec = this.host.spec;
    this.ring = this.host.sab;
    this.batchMs = internals.batchMs ?? DEFAULT_MAX_DELAY_MS;
    if (!(this.batchMs >= 0)) throw new InvalidOptionError('batchMs', 'a number of milliseconds ≥ 0', internals.batchMs);
    this.events$ = this.host.events.asObservable();
    this.host.events.subscribe((e) => {
      if (e.type === 'custom' && (e.name === 'stale' || e.name === 'live')) this.stale = e.name === 'stale';
    });
    const spec = this.spec;
    if (spec.kind === 'audio') {
      this.latestReader = new SampleRingReader(this.ring);
      this.toItem = ((c: SampleChunkView) => audioChunk(c, spec.channels, spec.rate, spec.format)) as never;
    } else {
      this.latestReader = new FrameRingReader(this.ring);
      if (spec.kind === 'records') {
        const shape = recordShape(spec);
        this.toItem = ((v: FrameView, check: FrameCheck) => recordItem(v, shape, check)) as never;
      } else this.toItem = videoFrame as never;
    }
    this.frames$ = new Observable<I>((sub) => {
      this.assertOpen();
      const consumer = new RingConsumer(this.ring, { maxDelayMs: this.batchMs });
      const entry = { consumer, sub, done: Promise.resolve() };
      this.subscribers.add(entry);
      entry.done = this.serve(consumer, sub);
      return () => {
        if (!this.subscribers.delete(entry)) return;
        this.overwrittenGone += consumer.drops().overwritten;
        consumer.close();
      };
    });
    this.stats$ = new Observable<SourceStats>((sub) => {
      this.assertOpen();
      let lastItems = this.itemsWritten();
      let lastFrames = this.spec.kind === 'audio' ? (this.latestReader as SampleRingReader).framesWritten() : 0n;
      let lastNs = monotonicNs();
      const timer = setInterval(() => {
        const now = monotonicNs();
        const dt = Number(now - lastNs) / 1e9;
        const items = this.itemsWritten();
        const stats: SourceStats = {
          atNs: now,
          state: this.state,
          ...(this.host.failure ? { error: this.host.failure } : {}),
          items,
          rate: (items - lastItems) / dt,
          drops: this.dropsNow(),
          gaps: this.latestReader.gaps(),
          latencyMs: this.latency.takeSummary(),
          captureToReceiveMs: this.receiveLatency.takeSummary(),
          stale: this.stale,
        };
        if (this.spec.kind === 'audio') {
          const r = this.latestReader as SampleRingReader;
          const frames = r.framesWritten();
          stats.sampleRate = Number(frames - lastFrames) / dt;
          stats.chunkRate = stats.rate;
          stats.rate = stats.sampleRate;
          lastFrames = frames;
          if (frames > 0n) {
            const n = Math.min(Number(frames), Math.max(1, Math.round(this.spec.rate / 10)), r.capacityFrames);
            try {
              const block = r.read(n);
              stats.level = levels(block.data, this.spec.channels, this.spec.format, createLevels(this.spec.channels));
            } catch {
              // OverrunError: the writer kept lapping the copy; this tick has no level (never a torn one).
            }
          }
        }
        lastItems = items;
        lastNs = now;
        sub.next(stats);
      }, internals.statsIntervalMs);
      const end = this.closed$.subscribe(() => sub.complete());
      return () => {
        clearInterval(timer);
        end.unsubscribe();
      };
    }).pipe(share());
  }

  get state(): SourceState {
    if (this._state !== 'closed' && this.host.failure) return 'error';
    return this._state;
  }
  get kind(): StreamSpec['kind'] {
    return this.spec.kind;
  }
  /** The plugin's name (e.g. `v4l2`, `alsa`, `sysstats`). */
  get name(): string {
    return this.host.definition;
  }

  /** Starts capture (idempotent). */
  async start(): Promise<void> {
    this.assertOpen();
    this.host.wantRunning = true;
    await this.host.request({ t: 'start' });
    this._state = 'running';
  }

  /** Stops capture (idempotent); the ring and its items stay readable. */
  async stop(): Promise<void> {
    this.assertOpen();
    this.host.wantRunning = false;
    await this.host.request({ t: 'stop' });
    this._state = 'stopped';
  }

  /**
   * Stops and closes the source and ends every consumer of its ring. Order (docs/architecture.md):
   * methods throw from the first call → stop capture → plugin close → worker exit → the ring is marked
   * closed → every consumer of the ring, in any thread (frames$ subscribers, file sinks, spectrum, NATS
   * publishers, network feeds), takes what is left and ends → frames$ and stats$ complete → resolves.
   * Every call returns the same promise.
   */
  close(opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.teardown(opts);
    return this.closing;
  }

  private async teardown(opts: { force?: boolean; timeoutMs?: number }): Promise<void> {
    this._state = 'closed';
    try {
      await this.host.close(opts);
    } finally {
      // The worker marks the ring closed when it closes gracefully; a terminated worker cannot.
      markRingClosed(this.ring);
      await Promise.all([...this.subscribers].map((s) => s.done));
      for (const { sub } of [...this.subscribers]) sub.complete();
      this.subscribers.clear();
      this.latestReader.release();
      this.historyReader?.release();
      this.closed$.next();
      this.closed$.complete();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The newest complete item (video frame, record, or audio chunk), or null before the first one.
   * The returned view stays valid until the next `latest()` call on this Source.
   */
  latest(): I | null {
    this.assertOpen();
    const r = this.latestReader;
    const v = r.latest();
    return v ? this.toItem(v, r instanceof FrameRingReader ? this.intactLatest : null) : null;
  }

  private readonly intactLatest = (v: FrameView) => (this.latestReader as FrameRingReader).intact(v);

  /**
   * Video and records: the last `n` items the ring still holds (fewer if fewer were written or some were
   * overwritten meanwhile), oldest first, as detached copies that stay valid — PsychoPy's `keepFrames`.
   *
   * @example
   * ```ts
   * const last30 = cam.history(30); // the last second at 30 fps
   * ```
   */
  history(n: number): I[] {
    this.assertOpen();
    if (this.spec.kind === 'audio') throw new InvalidStateError('history(n) is for video and records sources; this is an audio source (use read(n))');
    const r = (this.historyReader ??= new FrameRingReader(this.ring));
    if (!Number.isInteger(n) || n < 1 || n > r.slots) throw new InvalidOptionError('n', `an integer from 1 to ${r.slots} (the ring's slots)`, n);
    const head = r.head();
    const out: I[] = [];
    for (let seq = head > BigInt(n) ? head - BigInt(n) : 0n; seq < head; seq++) {
      const v = r.at(seq);
      if (v) out.push(this.toItem(v, null).copy() as I); // copied under a read lease: never torn
    }
    r.release();
    return out;
  }

  /**
   * Audio: the newest `n` frames (interleaved, copied out and verified untorn) with the capture time of
   * the first — fewer only before `n` were written, or when `n` and the frames the writer is filling exceed
   * the ring. Pass `into` to reuse a buffer of `n × channels` samples. Throws OverrunError if the writer
   * tore every copy attempt (never returns torn samples).
   */
  read(n: number, into?: SampleArray): SampleBlock {
    this.assertOpen();
    if (!(this.latestReader instanceof SampleRingReader))
      throw new InvalidStateError(`read(n) is for audio sources; this is a ${this.spec.kind} source (use latest(), history(n) or frames$)`);
    return this.latestReader.read(n, into);
  }

  /** Loss so far by cause (writer causes plus `overwritten` across this Source's subscribers). */
  drops(): Record<string, number> {
    this.assertOpen();
    return this.dropsNow();
  }

  private dropsNow(): Record<string, number> {
    const d = this.latestReader.drops();
    let over = this.overwrittenGone;
    for (const { consumer } of this.subscribers) over += consumer.drops().overwritten;
    d.overwritten = over;
    return d;
  }

  async getControl(name: string): Promise<number> {
    this.assertOpen();
    return (await this.host.request({ t: 'getControl', name })) as number;
  }

  async setControl(name: string, value: number): Promise<void> {
    this.assertOpen();
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidOptionError('value', 'a finite number', value);
    await this.host.request({ t: 'setControl', name, value });
  }

  async listControls(): Promise<ControlInfo[]> {
    this.assertOpen();
    return (await this.host.request({ t: 'listControls' })) as ControlInfo[];
  }

  private assertOpen(): void {
    if (this._state === 'closed') throw new InvalidStateError(`source '${this.name}' is closed`);
  }

  private itemsWritten(): number {
    const r = this.latestReader;
    return Number(r instanceof FrameRingReader ? r.head() : r.chunksWritten());
  }

  /**
   * Delivers one subscriber's items: one RingConsumer per subscriber, one wake-up per batch (at most
   * `batchMs` late), the event loop gets a turn between batches (bounded in count and time). A slow subscriber loses items (counted
   * under `overwritten`) instead of starving timers and I/O on this thread. Ends when the subscriber goes
   * or the ring closes (after delivering what it holds).
   */
  private async serve(consumer: RingConsumer, sub: Subscriber<I>): Promise<void> {
    const check: FrameCheck = consumer.kind === 'frame' ? (v) => (consumer.ring as FrameRingReader).intact(v) : null;
    try {
      while (await consumer.wait()) {
        const now = monotonicNs(); // one clock read per batch
        // A bounded batch (items and time) per turn: the rest come after the event loop has had a turn.
        for (let v = consumer.take(), n = 1; v && !consumer.aborted; v = consumer.more(n++) ? consumer.take() : null) {
          const item = this.toItem(v, check);
          this.latency.add(Number(now - item.captureNs) / 1e6);
          this.receiveLatency.add(Number(item.receiveNs - item.captureNs) / 1e6);
          sub.next(item);
        }
        consumer.release();
      }
      if (!consumer.aborted) sub.complete(); // the ring closed
    } catch (e) {
      this.log.error({ err: e }, 'frames$ delivery failed');
      sub.error(e);
    } finally {
      consumer.release();
    }
  }
}

export type VideoSource = Source<VideoFrame>;
export type AudioSource = Source<AudioChunk>;
export type RecordsSource = Source<RecordItem>;
