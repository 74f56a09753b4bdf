/**
 * McapSink: records several streams into one MCAP file from a worker of its own that reads every ring
 * directly. The main thread starts it, forwards the sources' (rare) events, hears progress a few times a
 * second, and stops it.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ReplaySubject, type Observable, type Subscription } from 'rxjs';
import {
  attachReader,
  clockAnchor,
  deserializeError,
  InvalidOptionError,
  InvalidStateError,
  monotonicNs,
  type SenseflowError,
  type SourceEvent,
  type StreamSpec,
} from '@senseflow/core';
import type { RingSource } from '../file/file-sink.js';
import type { McapFileOptions } from './file-writer.js';
import type { FromMcapWorker, McapSummary, McapWorkerData } from './protocol.js';
import { channelsFor } from './schemas.js';

export interface McapSinkOptions extends McapFileOptions {
  /** The MCAP file to write (created or truncated). */
  file: string;
  /** Do not start yet: call `start(originNs)` later (a session starts every sink on one origin). Default false. */
  deferStart?: boolean;
}

/** A stream to record: a Source (its events go to `/NAME/events` too) or just `{ ring, spec }`. */
export type McapStreamInput = RingSource & { events$?: Observable<SourceEvent | { type: string; atNs: bigint }> };

const bigintsAsStrings = (o: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));

/**
 * One MCAP file for a set of streams. Create with {@link openMcapSink}.
 *
 * Guarantees: every item read from a ring is either stored or counted as lost by cause (`/NAME/drops`);
 * chunks are closed at least every `chunkMs` (≤ 1 s), so a killed process leaves a file readable up to
 * its last closed chunk; a clean `close()` adds the summary and indexes.
 */
export class McapSink implements AsyncDisposable {
  private latest: McapSummary;
  private readonly subs: Subscription[] = [];
  private readonly stopped: Promise<McapSummary>;
  private readonly done: Promise<McapSummary>;
  private stopping: Promise<McapSummary> | null = null;
  private finishing: Promise<McapSummary> | null = null;
  private startedAt: bigint | null = null;
  /** Write errors (e.g. disk full, an IOError): the sink keeps reading and counting (`io` drops), stores nothing more. */
  readonly errors$: Observable<SenseflowError>;
  private readonly errors = new ReplaySubject<SenseflowError>(1); // the worker reports its first error only; keep it for late subscribers

  private constructor(
    private readonly worker: Worker,
    private readonly rings: Record<string, SharedArrayBuffer>,
    readonly file: string,
    readonly specs: Record<string, StreamSpec>,
    ready: () => void,
    fail: (e: unknown) => void,
  ) {
    this.errors$ = this.errors.asObservable();
    this.latest = { file, bytes: 0, streams: {}, complete: false, error: null };
    let onStopped!: (s: McapSummary) => void;
    this.stopped = new Promise((r) => (onStopped = r));
    this.done = new Promise<McapSummary>((resolve, reject) => {
      worker.on('message', (m: FromMcapWorker) => {
        if (m.t === 'ready') ready();
        else if (m.t === 'progress') this.latest = m.summary;
        else if (m.t === 'error') this.errors.next(deserializeError(m.error));
        else if (m.t === 'stopped') {
          this.latest = m.summary;
          onStopped(m.summary);
        } else if (m.t === 'done') {
          this.latest = m.summary;
          resolve(m.summary);
          this.errors.complete();
          void worker.terminate();
        }
      });
      const lost = (e: unknown) => {
        fail(e);
        reject(e);
        onStopped(this.latest);
      };
      worker.on('error', lost);
      worker.on('exit', (code) => lost(new InvalidStateError(`MCAP sink worker exited (code ${code}) before finishing`)));
    });
    this.done.catch(() => {});
  }

  /** @internal */
  static async open(streams: Record<string, McapStreamInput>, opts: McapSinkOptions): Promise<McapSink> {
    if (!opts || typeof opts.file !== 'string' || !opts.file) throw new InvalidOptionError('file', 'an MCAP file path', opts?.file);
    const names = Object.keys(streams ?? {});
    if (names.length === 0) throw new InvalidOptionError('streams', 'at least one stream ({ name: source })', streams);
    for (const name of names) {
      const s = streams[name];
      if (!/^[\w.-]+$/.test(name)) throw new InvalidOptionError('streams', 'file-name-safe stream names', name);
      if (!s || !(s.ring instanceof SharedArrayBuffer) || !s.spec) throw new InvalidOptionError(`streams.${name}`, 'a Source (or { ring, spec })', s);
      channelsFor(name, s.spec); // an unsupported format fails here, with its name, before anything runs
    }
    if (opts.chunkMs !== undefined && !(opts.chunkMs > 0 && opts.chunkMs <= 1000)) throw new InvalidOptionError('chunkMs', 'milliseconds from 1 to 1000', opts.chunkMs);
    if (opts.compression !== undefined && !['zstd', 'none'].includes(opts.compression)) throw new InvalidOptionError('compression', "one of 'zstd', 'none'", opts.compression);
    const data: McapWorkerData = {
      file: opts.file,
      streams: names.map((name) => ({ name, ring: streams[name].ring, spec: streams[name].spec })),
      options: { chunkMs: opts.chunkMs, chunkBytes: opts.chunkBytes, compression: opts.compression, zstdLevel: opts.zstdLevel },
    };
    const worker = new Worker(new URL('./mcap/worker.js', import.meta.url), { workerData: data, name: 'senseflow-sink:mcap' });
    let ready!: () => void;
    let fail!: (e: unknown) => void;
    const isReady = new Promise<void>((res, rej) => ((ready = res), (fail = rej)));
    const sink = new McapSink(worker, Object.fromEntries(names.map((n) => [n, streams[n].ring])), opts.file, Object.fromEntries(names.map((n) => [n, streams[n].spec])), ready, fail);
    await isReady;
    for (const name of names) {
      const ev$ = streams[name].events$;
      if (ev$) sink.subs.push(ev$.subscribe((event) => worker.postMessage({ t: 'event', stream: name, event: bigintsAsStrings(event) })));
    }
    if (!opts.deferStart) sink.start();
    return sink;
  }

  /**
   * Starts storing, with items captured before `originNs` (CLOCK_MONOTONIC; default now) left out.
   * `metadata` is written as the `senseflow.session` Metadata record at the start of the file.
   */
  start(originNs: bigint = monotonicNs(), metadata?: Record<string, string>): void {
    if (this.stopping) throw new InvalidStateError('MCAP sink is stopped');
    if (this.startedAt !== null) return;
    this.startedAt = originNs;
    const a = clockAnchor();
    const wall = new Date(a.wallTimeMs + Number(originNs - a.monotonicNs) / 1e6).toISOString();
    // Each writer's loss counters now (loss before the origin is not this recording's), read here: when the
    // worker gets the message, a gap a source made meanwhile would already be in them.
    const baselines = Object.fromEntries(Object.entries(this.rings).map(([n, ring]) => [n, attachReader(ring).drops()]));
    this.worker.postMessage({ t: 'start', originNs: String(originNs), metadata: metadata ?? { 'clock.monotonicNs': String(originNs), 'clock.wallTime': wall }, baselines });
  }

  /** Counts as of the worker's last report (≤ 250 ms old). */
  progress(): McapSummary {
    return this.latest;
  }

  /**
   * Stores what the rings still hold and stops reading (the file stays open for {@link finish}). Stop the
   * sources first to record everything up to their last item. Idempotent.
   */
  stop(): Promise<McapSummary> {
    if (!this.stopping) {
      for (const s of this.subs) s.unsubscribe();
      this.worker.postMessage({ t: 'stop' });
      this.stopping = this.stopped;
    }
    return this.stopping;
  }

  /** After `stop()`: writes `metadata` as a final `senseflow.session` record, the summary and indexes, and closes the file. */
  finish(metadata: Record<string, string> | null = null): Promise<McapSummary> {
    if (!this.finishing) {
      this.finishing = this.stop().then(() => {
        this.worker.postMessage({ t: 'finish', metadata });
        return this.done;
      });
    }
    return this.finishing;
  }

  /** `stop()` then `finish()`. Idempotent. */
  close(): Promise<McapSummary> {
    return this.finish();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Records streams into one MCAP file from a worker of its own: video as foxglove.CompressedImage (MJPEG as
 * captured) or foxglove.RawImage, audio as foxglove.RawAudio, records as JSON; each stream's drop ledger
 * and events on `/NAME/drops` and `/NAME/events`. Log time = capture time, publish time = receive time,
 * sequence = seq. See docs/interop.md.
 *
 * @example
 * ```ts
 * const cam = await openTestPattern({ pixelFormat: 'mjpeg', fps: 30 });
 * const mic = await openTone({ rate: 48000 });
 * const sink = await openMcapSink({ video: cam, audio: mic }, { file: 'session.mcap' });
 * // … later
 * await Promise.all([cam.stop(), mic.stop()]);
 * const summary = await sink.close(); // { streams: { video: { items, drops, … }, … }, complete: true }
 * ```
 */
export function openMcapSink(streams: Record<string, McapStreamInput>, opts: McapSinkOptions): Promise<McapSink> {
  return McapSink.open(streams, opts);
}

/** The session's MCAP file name inside its directory. */
export const MCAP_FILE = 'session.mcap';
export const mcapPath = (dir: string) => join(dir, MCAP_FILE);
