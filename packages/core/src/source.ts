/**
 * The main-thread face of a source: observables and synchronous accessors over its ring, plus lifecycle.
 * The ring is read in place; the worker is told only start/stop/close/controls.
 */
import { performance } from 'node:perf_hooks';
import { Observable, Subject, share, type Subscriber } from 'rxjs';
import type { Logger } from 'pino';
import { createLevels, levels, type ChannelLevels } from './audio-levels.js';
import { monotonicNs } from './clock.js';
import type { ControlInfo, SourceEvent, StreamSpec } from './contract/v1/index.js';
import { InvalidOptionError, InvalidStateError } from './errors.js';
import type { ControlCall } from './host/worker-host.js';
import { audioChunk, recordItem, videoFrame, type AudioChunk, type RecordItem, type SourceItem, type VideoFrame } from './items.js';
import { FrameRingReader } from './ring/frame-ring.js';
import { I32, RingState } from './ring/layout.js';
import { SampleRingReader, type SampleArray, type SampleBlock } from './ring/sample-ring.js';

export type SourceState = 'stopped' | 'running' | 'closed';

export interface LatencySummary {
  /** Milliseconds: median, 99th percentile and maximum over the stats window. */
  p50: number;
  p99: number;
  max: number;
}

export interface SourceStats {
  atNs: bigint;
  /** Items the source has written since it opened (audio: chunks). */
  items: number;
  /** Items per second over the last stats interval (audio: chunks/s; see `sampleRate`). */
  rate: number;
  /** Audio only: frames per second measured over the last interval. */
  sampleRate?: number;
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
  /** Whether the user wants capture running (kept across restarts and reconnects). */
  wantRunning: boolean;
  request(call: ControlCall): Promise<unknown>;
  close(opts?: { force?: boolean; timeoutMs?: number }): Promise<void>;
}

export interface SourceInternals {
  host: SourceController;
  log: Logger;
  statsIntervalMs: number;
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
 * - After `close()`, every method throws {@link InvalidStateError}; `close()` itself is idempotent.
 */
export class Source<I extends SourceItem = SourceItem> implements AsyncDisposable {
  readonly spec: StreamSpec;
  /** The ring's SharedArrayBuffer: attach a reader to it from any worker (`attachReader`). */
  readonly ring: SharedArrayBuffer;
  /** Lifecycle and device events (disconnects, crashes, restarts, errors, custom plugin events). */
  readonly events$: Observable<SourceEvent>;
  /** Every item, in order, per subscriber. Payload views are valid during the callback (use `copy()` to keep). */
  readonly frames$: Observable<I>;
  /** Rate, drops, latency (and audio level) every `statsIntervalMs` while subscribed. */
  readonly stats$: Observable<SourceStats>;

  private _state: SourceState = 'stopped';
  private readonly host: SourceController;
  private readonly log: Logger;
  private readonly latestReader: FrameRingReader | SampleRingReader;
  private readonly subscribers = new Set<{ reader: FrameRingReader | SampleRingReader; sub: Subscriber<I> }>();
  private overwrittenGone = 0;
  private pumping = false;
  private readonly notify: Int32Array;
  private readonly latency = new LatencyWindow();
  private readonly receiveLatency = new LatencyWindow();
  private readonly toItem: (v: never) => I;
  private readonly closed$ = new Subject<void>();
  private stale = false;

  constructor(internals: SourceInternals) {
    this.host = internals.host;
    this.log = internals.log;
    this.spec = this.host.spec;
    this.ring = this.host.sab;
    this.notify = new Int32Array(this.ring, 0, 64);
    this.events$ = this.host.events.asObservable();
    this.host.events.subscribe((e) => {
      if (e.type === 'custom' && (e.name === 'stale' || e.name === 'live')) this.stale = e.name === 'stale';
    });
    const spec = this.spec;
    if (spec.kind === 'audio') {
      this.latestReader = new SampleRingReader(this.ring);
      this.toItem = ((c: Parameters<typeof audioChunk>[0]) => audioChunk(c, spec.channels, spec.rate, spec.format)) as never;
    } else {
      this.latestReader = new FrameRingReader(this.ring);
      if (spec.kind === 'records') {
        const names = spec.fields.map((f) => f.name);
        const index = new Map(names.map((n, i) => [n, i]));
        this.toItem = ((v: Parameters<typeof videoFrame>[0]) => recordItem(v, spec, index, names)) as never;
      } else this.toItem = videoFrame as never;
    }
    this.frames$ = new Observable<I>((sub) => {
      this.assertOpen();
      const entry = { reader: this.newReader(), sub };
      this.subscribers.add(entry);
      this.pump();
      return () => {
        this.subscribers.delete(entry);
        if (entry.reader instanceof FrameRingReader) entry.reader.release();
        this.overwrittenGone += entry.reader.drops().overwritten;
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
          items,
          rate: (items - lastItems) / dt,
          drops: this.drops(),
          gaps: this.latestReader.gaps(),
          latencyMs: this.latency.takeSummary(),
          captureToReceiveMs: this.receiveLatency.takeSummary(),
          stale: this.stale,
        };
        if (this.spec.kind === 'audio') {
          const r = this.latestReader as SampleRingReader;
          const frames = r.framesWritten();
          stats.sampleRate = Number(frames - lastFrames) / dt;
          lastFrames = frames;
          if (frames > 0n) {
            const n = Math.min(Number(frames), Math.max(1, Math.round(this.spec.rate / 10)), r.capacityFrames);
            const block = r.read(n);
            stats.level = levels(block.data, this.spec.channels, this.spec.format, createLevels(this.spec.channels));
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
   * Stops and closes the source, completes every observable, and ends the worker (which closes the
   * device). Order: stop capture → plugin close → worker exit → observables complete. Idempotent.
   */
  async close(opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this._state === 'closed') return;
    this._state = 'closed';
    try {
      await this.host.close(opts);
    } finally {
      Atomics.notify(this.notify, I32.NOTIFY); // wake the pump so it sees the close
      for (const { sub } of [...this.subscribers]) sub.complete();
      this.subscribers.clear();
      if (this.latestReader instanceof FrameRingReader) this.latestReader.release();
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
    if (r instanceof FrameRingReader) {
      const v = r.latest();
      return v ? this.toItem(v as never) : null;
    }
    const c = r.latest();
    return c ? this.toItem(c as never) : null;
  }

  /**
   * Audio: the newest `n` frames (interleaved, copied out and verified untorn) with the capture time of
   * the first. Pass `into` to reuse a buffer of `n × channels` samples.
   */
  read(n: number, into?: SampleArray): SampleBlock {
    this.assertOpen();
    if (!(this.latestReader instanceof SampleRingReader))
      throw new InvalidStateError(`read(n) is for audio sources; this is a ${this.spec.kind} source (use latest() or frames$)`);
    return this.latestReader.read(n, into);
  }

  /** Loss so far by cause (writer causes plus `overwritten` across this Source's subscribers). */
  drops(): Record<string, number> {
    const d = this.latestReader.drops();
    let over = this.overwrittenGone;
    for (const { reader } of this.subscribers) over += reader.drops().overwritten;
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

  private newReader(): FrameRingReader | SampleRingReader {
    return this.spec.kind === 'audio' ? new SampleRingReader(this.ring) : new FrameRingReader(this.ring);
  }

  private itemsWritten(): number {
    const r = this.latestReader;
    return Number(r instanceof FrameRingReader ? r.head() : r.chunksWritten());
  }

  /**
   * One wake-up loop per Source serves every subscriber: Atomics.waitAsync on the ring's NOTIFY word.
   * Each turn delivers a bounded batch per subscriber and yields to the event loop before the next, so a
   * slow subscriber loses items (counted) instead of starving timers and I/O on this thread.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const loop = async () => {
      while (this.subscribers.size > 0 && this._state !== 'closed') {
        const seen = Atomics.load(this.notify, I32.NOTIFY);
        const more = this.drain();
        if (Atomics.load(this.notify, I32.STATE) === RingState.closed) break;
        if (more) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const w = Atomics.waitAsync(this.notify, I32.NOTIFY, seen, 1000);
        if (w.async) await w.value;
      }
      this.pumping = false;
    };
    loop().catch((e: unknown) => {
      this.pumping = false;
      this.log.error({ err: e }, 'frames$ pump failed');
      for (const { sub } of this.subscribers) sub.error(e);
    });
  }

  /** Delivers up to a batch per subscriber; returns whether items are still waiting. */
  private drain(): boolean {
    const started = performance.now();
    let more = false;
    for (const entry of this.subscribers) {
      const { reader, sub } = entry;
      for (let n = 0; ; n++) {
        // Budget per turn: a ring's worth of items or 20 ms, whichever comes first.
        if (n >= 64 || performance.now() - started > 20) {
          more = true;
          break;
        }
        const v = reader.next();
        if (!v) break;
        const item = this.toItem(v as never);
        const now = monotonicNs();
        this.latency.add(Number(now - item.captureNs) / 1e6);
        this.receiveLatency.add(Number(item.receiveNs - item.captureNs) / 1e6);
        try {
          sub.next(item);
        } finally {
          if (reader instanceof FrameRingReader) reader.release();
        }
        if (!this.subscribers.has(entry)) break;
      }
    }
    return more;
  }
}

export type VideoSource = Source<VideoFrame>;
export type AudioSource = Source<AudioChunk>;
export type RecordsSource = Source<RecordItem>;
