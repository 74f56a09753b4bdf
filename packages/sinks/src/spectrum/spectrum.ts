/**
 * `spectrum(source, options)`: a live spectrogram of an audio source, computed off the main thread.
 *
 * Data path: the source's worker writes samples into its ring → a spectrum-pool worker reads them in
 * place (no copy, no postMessage), runs window → FFT → magnitude in one native pass, and writes each
 * frame into this stream's own frame ring → readers (frames$ here, or any worker via `stream.ring`) read
 * the frames in place. The main thread is in the path only if something here subscribes.
 */
import { Observable, type Subscriber } from 'rxjs';
import {
  FrameRingReader,
  InvalidOptionError,
  InvalidStateError,
  RingConsumer,
  SampleRingViews,
  createFrameRing,
  markRingClosed,
  resolveLogger,
  type FrameView,
  type Logger,
} from '@senseflow/core';
import { frequencyAxis } from './frame-math.js';
import { frameFromView, type FrameStatics, type SpectrumFrame } from './frame.js';
import { createControlBlock, spectrumSlotBytes } from './computer.js';
import { CONTROL_BYTES, Ctl32, Ctl64, EngineCode } from './layout.js';
import { resolveSpectrumOptions, type ResolvedSpectrumOptions, type SpectrumOptions } from './options.js';
import { spectrumPool } from './pool.js';
import type { SpectrumTask, SpectrumTaskResult } from './worker.js';

export interface SpectrumStats {
  /** Frames computed since the stream started. */
  computed: number;
  /** Hops skipped: source samples overwritten before they were read, or the output ring full. */
  lost: number;
  /** Frames this stream's frames$ subscribers missed because they fell a whole ring behind. */
  overwritten: number;
  /** Worker time spent computing, in ms (excludes waiting). */
  busyMs: number;
  /** Worker loop wake-ups. */
  wakes: number;
  /** The FFT engine in use (`fftw` or `js`), null until the worker is ready. */
  engine: 'fftw' | 'js' | null;
}

/** Anything with a sample ring: a `Source` from openSource()/openMicrophone()/…, or the ring itself. */
export type SpectrumInput = SharedArrayBuffer | { ring: SharedArrayBuffer };

/** A running spectrum stream. Close it (or `await using` it) to free its pool task. */
export class SpectrumStream implements AsyncDisposable {
  /** The output frame ring: attach `new FrameRingReader(stream.ring)` in any worker to read frames in place. */
  readonly ring: SharedArrayBuffer;
  /** Bin centre frequencies in Hz (bins = size/2 + 1). */
  readonly frequencies: Float32Array;
  readonly options: Readonly<ResolvedSpectrumOptions>;
  /** Every frame, in order, per subscriber. Frames are views valid during the callback (`copy()` to keep). Errors with InvalidStateError after close(). */
  readonly frames$: Observable<SpectrumFrame>;
  /** Resolves once the worker has attached and planned its FFT (FFTW measures plans: up to ~1 s at 65536). */
  readonly ready: Promise<void>;

  private closed = false;
  private readonly statics: FrameStatics;
  private readonly control: SharedArrayBuffer;
  private readonly ctl32: Int32Array;
  private readonly ctl64: BigInt64Array;
  private readonly latestReader: FrameRingReader;
  private readonly subscribers = new Set<{ consumer: RingConsumer<FrameView>; done: Promise<void> }>();
  private overwrittenGone = 0;
  private closing: Promise<void> | null = null;
  private readonly done: Promise<SpectrumTaskResult>;
  private failure: unknown = null;
  private readonly log: Logger;

  constructor(input: SpectrumInput, options: SpectrumOptions = {}) {
    const sab = input instanceof SharedArrayBuffer ? input : (input as { ring?: unknown } | null)?.ring;
    if (!(sab instanceof SharedArrayBuffer)) throw new InvalidOptionError('source', 'an audio Source or its ring (SharedArrayBuffer)', typeof input);
    let views: SampleRingViews;
    try {
      views = new SampleRingViews(sab);
    } catch {
      throw new InvalidOptionError('source', 'an audio source (a sample ring); video and records sources have no spectrum', '(a frame ring)');
    }
    const o = resolveSpectrumOptions(options, { rate: views.rate, format: views.format, channels: views.channels, capacityFrames: views.g.capacityFrames });
    this.options = Object.freeze(o);
    this.log = resolveLogger(options, { component: 'spectrum' });
    this.frequencies = frequencyAxis(o.size, o.rate);
    this.statics = { size: o.size, hop: o.hop, rate: o.rate, channels: Object.freeze([...o.channels]), frequencies: this.frequencies };
    this.ring = createFrameRing({ slots: o.slots, slotBytes: spectrumSlotBytes(o) });
    this.control = createControlBlock();
    this.ctl32 = new Int32Array(this.control, 0, 8);
    this.ctl64 = new BigInt64Array(this.control, 0, CONTROL_BYTES / 8);
    this.latestReader = new FrameRingReader(this.ring);

    const task: SpectrumTask = { ring: sab, out: this.ring, control: this.control, options: o };
    this.done = spectrumPool().run(task) as Promise<SpectrumTaskResult>;
    this.done.then(
      (r) => this.log.debug(r, 'spectrum task ended'),
      (e: unknown) => {
        this.failure = e;
        this.log.error({ err: e }, 'spectrum task failed');
        markRingClosed(this.ring); // the worker may not have closed it: subscribers end and see the error
        Atomics.notify(this.ctl32, Ctl32.READY);
      },
    );
    this.ready = this.waitReady();
    this.ready.catch(() => {}); // observed through frames$ / close() too; never an unhandled rejection

    this.frames$ = new Observable<SpectrumFrame>((sub) => {
      if (this.closed) {
        sub.error(new InvalidStateError('spectrum stream is closed'));
        return;
      }
      const consumer = new RingConsumer<FrameView>(this.ring);
      const entry = { consumer, done: Promise.resolve() };
      this.subscribers.add(entry);
      entry.done = this.serve(consumer, sub);
      return () => {
        if (!this.subscribers.delete(entry)) return;
        this.overwrittenGone += consumer.drops().overwritten;
        consumer.close();
      };
    });
  }

  /** The newest frame, or null before the first. The view stays valid until the next `latest()` call. */
  latest(): SpectrumFrame | null {
    this.assertOpen();
    const v = this.latestReader.latest();
    return v ? frameFromView(v, this.statics) : null;
  }

  stats(): SpectrumStats {
    let overwritten = this.overwrittenGone;
    for (const { consumer } of this.subscribers) overwritten += consumer.drops().overwritten;
    const code = Atomics.load(this.ctl32, Ctl32.ENGINE);
    return {
      computed: Number(Atomics.load(this.ctl64, Ctl64.COMPUTED)),
      lost: Number(Atomics.load(this.ctl64, Ctl64.LOST)),
      overwritten,
      busyMs: Number(Atomics.load(this.ctl64, Ctl64.BUSY_NS)) / 1e6,
      wakes: Number(Atomics.load(this.ctl64, Ctl64.WAKES)),
      engine: code === EngineCode.fftw ? 'fftw' : code === EngineCode.js ? 'js' : null,
    };
  }

  /**
   * Stops the worker loop, completes frames$ (pending frames are delivered first) and frees the pool task.
   * Every call returns the same promise. The output ring stays readable.
   */
  close(): Promise<void> {
    this.closing ??= this.teardown();
    return this.closing;
  }

  private async teardown(): Promise<void> {
    this.closed = true;
    Atomics.store(this.ctl32, Ctl32.STOP, 1);
    Atomics.notify(this.ctl32, Ctl32.STOP); // the worker aborts its consumer: a pending wait ends at once
    try {
      await this.done;
    } catch {
      // reported to subscribers and the log already
    } finally {
      markRingClosed(this.ring); // the worker closes it too; this covers a task that never started
      await Promise.all([...this.subscribers].map((s) => s.done));
      this.latestReader.release();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new InvalidStateError('spectrum stream is closed');
  }

  private async waitReady(): Promise<void> {
    while (Atomics.load(this.ctl32, Ctl32.READY) === 0) {
      if (this.failure) throw this.failure;
      if (this.closed) throw new InvalidStateError('spectrum stream closed before it was ready');
      const w = Atomics.waitAsync(this.ctl32, Ctl32.READY, 0, 200);
      if (w.async) await w.value;
    }
  }

  /** Delivers one subscriber's frames through its own consumer; completes (or errors) when the output ring closes. */
  private async serve(consumer: RingConsumer<FrameView>, sub: Subscriber<SpectrumFrame>): Promise<void> {
    try {
      while (await consumer.wait()) {
        for (let v = consumer.take(); v && !consumer.aborted; v = consumer.take()) sub.next(frameFromView(v, this.statics));
        consumer.release();
      }
      if (consumer.aborted) return;
      if (this.failure) sub.error(this.failure);
      else sub.complete();
    } catch (e) {
      sub.error(e);
    } finally {
      consumer.release();
    }
  }
}

/**
 * Starts a live spectrum of an audio source: windows of `size` frames every `hop` frames, computed in
 * the spectrum worker pool straight from the source's ring.
 *
 * @example
 * ```ts
 * const mic = await openMicrophone({ device: 'default' });
 * await using spec = spectrum(mic, { size: 4096, hop: 1024, scale: 'db' });
 * spec.frames$.subscribe((f) => console.log(f.seq, peaks(f, { count: 1 })[0]?.frequency));
 * await mic.start();
 * ```
 */
export function spectrum(source: SpectrumInput, options: SpectrumOptions = {}): SpectrumStream {
  return new SpectrumStream(source, options);
}
