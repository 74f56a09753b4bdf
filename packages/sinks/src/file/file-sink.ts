/**
 * FileSink: stores one source's stream in files, from a worker of its own that reads the source's ring
 * directly. The main thread only starts it, hears progress a few times a second, and stops it.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Subject, type Observable } from 'rxjs';
import {
  attachReader,
  clockAnchor,
  deserializeError,
  InvalidOptionError,
  InvalidStateError,
  monotonicNs,
  type SenseflowError,
  type StreamSpec,
} from '@senseflow/core';
import { checkEncoder, checkFfmpeg } from './video-out.js';
import type { FromWorker, SinkProgress, SinkSummary, SinkWorkerData, VideoEncodeOptions } from './protocol.js';

/** What a FileSink needs from a source: its ring and spec (a `Source` has both). */
export interface RingSource {
  ring: SharedArrayBuffer;
  spec: StreamSpec;
}

export interface FileSinkOptions {
  /** Directory for the files (created by the caller). */
  dir: string;
  /** Stream name: the file stem (`video` → video.mkv, video.timestamps.csv, video.drops.ndjson). */
  name: string;
  /** Override the main file name (inside `dir`). */
  file?: string;
  /** Records: also write CSV (default true). */
  csv?: boolean;
  /**
   * Do not start storing yet: call `start(originNs)` later (a session starts all its sinks on one origin
   * once they are all ready). Default false: storing starts at once with origin = now.
   */
  deferStart?: boolean;
  /** Video encoding of raw frames (MJPEG is always passed through). */
  video?: VideoEncodeOptions;
  /** Seconds between WAV header rewrites (default 0.5). */
  headerIntervalS?: number;
}

export type FileSinkEvent = { type: 'error'; error: SenseflowError } | { type: 'started'; storage: string };

const EXT = { video: 'mkv', audio: 'wav', records: 'ndjson' } as const;

/**
 * One stream → files. Create with {@link openFileSink}.
 *
 * Guarantees: every item read from the ring is either stored or counted as lost by cause (drop ledger);
 * files stay valid while being written (WAV header rewritten every 0.5 s, Matroska written live), so a
 * killed process leaves playable files; a write failure (disk full, unwritable path) is an `error` event
 * with an {@link IOError} — the source keeps running and what was written stays valid.
 */
export class FileSink implements AsyncDisposable {
  readonly events$: Observable<FileSinkEvent>;
  private readonly events = new Subject<FileSinkEvent>();
  private latest: SinkProgress = { items: 0, frames: 0, bytes: 0, drops: {}, firstCaptureNs: null, lastCaptureNs: null, failed: false, failedAtNs: null };
  private done: Promise<SinkSummary>;
  private stopping: Promise<SinkSummary> | null = null;
  private _storage = '';

  private constructor(
    private readonly worker: Worker,
    private readonly ring: SharedArrayBuffer,
    readonly name: string,
    readonly spec: StreamSpec,
    readonly file: string,
    ready: (storage: string) => void,
    fail: (e: unknown) => void,
  ) {
    this.events$ = this.events.asObservable();
    this.done = new Promise<SinkSummary>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'ready') ready('');
        else if (m.t === 'started') {
          this._storage = m.storage;
          this.events.next({ type: 'started', storage: m.storage });
        } else if (m.t === 'progress') this.latest = m.progress;
        else if (m.t === 'error') {
          this.latest = { ...this.latest, failed: true };
          this.events.next({ type: 'error', error: deserializeError(m.error) });
        } else if (m.t === 'done') {
          this.latest = m.summary;
          resolve(m.summary);
          void worker.terminate();
        }
      });
      worker.on('error', (e) => {
        fail(e);
        reject(e);
      });
      worker.on('exit', (code) => {
        const e = new InvalidStateError(`file sink '${name}' worker exited (code ${code}) before finishing`);
        fail(e);
        reject(e);
      });
    });
    this.done.catch(() => {});
  }

  /** @internal */
  static async open(source: RingSource, opts: FileSinkOptions): Promise<FileSink> {
    if (!source || !(source.ring instanceof SharedArrayBuffer) || !source.spec)
      throw new InvalidOptionError('source', 'a Source (or { ring, spec })', source);
    if (!opts || typeof opts.dir !== 'string' || !opts.dir) throw new InvalidOptionError('dir', 'a directory path', opts?.dir);
    if (typeof opts.name !== 'string' || !/^[\w.-]+$/.test(opts.name)) throw new InvalidOptionError('name', 'a file-name-safe stream name', opts.name);
    // Raw video needs ffmpeg: say so now, before anything is recorded (MJPEG does not).
    if (source.spec.kind === 'video' && !['mjpeg', 'jpeg'].includes(source.spec.pixelFormat)) {
      checkFfmpeg(opts.video?.ffmpegPath);
      checkEncoder(opts.video?.codec ?? 'libx264', opts.video?.ffmpegPath);
    }
    const kind = source.spec.kind;
    const file = join(opts.dir, opts.file ?? `${opts.name}.${EXT[kind]}`);
    const data: SinkWorkerData = {
      ring: source.ring,
      spec: source.spec,
      name: opts.name,
      file,
      csv: kind === 'records' && opts.csv !== false ? join(opts.dir, `${opts.name}.csv`) : null,
      timestamps: join(opts.dir, `${opts.name}.timestamps.csv`),
      dropLedger: join(opts.dir, `${opts.name}.drops.ndjson`),
      video: opts.video ?? {},
      headerIntervalS: opts.headerIntervalS ?? 0.5,
      logLevel: 'silent',
    };
    const worker = new Worker(new URL('./file/worker.js', import.meta.url), { workerData: data, name: `senseflow-sink:${opts.name}` });
    let ready!: (s: string) => void;
    let fail!: (e: unknown) => void;
    const isReady = new Promise<string>((res, rej) => ((ready = res), (fail = rej)));
    const sink = new FileSink(worker, source.ring, opts.name, source.spec, file, ready, fail);
    await isReady;
    if (!opts.deferStart) sink.start();
    return sink;
  }

  private startedAt: bigint | null = null;

  /**
   * Starts storing, with container time 0 = `originNs` (CLOCK_MONOTONIC; default now). Items captured
   * before the origin are not part of the recording; loss counted before it is not reported.
   */
  start(originNs: bigint = monotonicNs()): void {
    if (this.stopping) throw new InvalidStateError(`file sink '${this.name}' is stopped`);
    if (this.startedAt !== null) return;
    this.startedAt = originNs;
    const a = clockAnchor();
    // The writer's loss counters now: loss before the origin is not this recording's. Read here, not when
    // the worker gets the message, or a gap the source makes meanwhile would vanish from the manifest.
    const baseline = attachReader(this.ring).drops();
    this.worker.postMessage({ t: 'start', originNs: String(originNs), originWallMs: a.wallTimeMs + Number(originNs - a.monotonicNs) / 1e6, baseline });
  }

  /** The origin given to `start()`, or null before. */
  get originNs(): bigint | null {
    return this.startedAt;
  }

  /** How the stream is stored (`mjpeg-passthrough`, `ffmpeg:libx264`, `wav`, `ndjson+csv`). */
  get storage(): string {
    return this._storage;
  }

  /** Counts as of the worker's last report (≤ 250 ms old). */
  progress(): SinkProgress {
    return this.latest;
  }

  /**
   * Stores what the ring still holds, finalizes the files (WAV sizes, Matroska duration, ffmpeg flushed)
   * and returns the summary. Stop the source first to record everything up to its last item. Idempotent.
   * With `timeoutMs`, items still waiting after that long are counted (`drops.stopped`) instead of stored,
   * so stopping an overloaded recording stays prompt.
   */
  stop(opts: { timeoutMs?: number } = {}): Promise<SinkSummary> {
    if (!this.stopping) {
      if (opts.timeoutMs !== undefined && !(Number.isFinite(opts.timeoutMs) && opts.timeoutMs >= 0))
        throw new InvalidOptionError('timeoutMs', 'a number of milliseconds ≥ 0', opts.timeoutMs);
      this.worker.postMessage({ t: 'stop', timeoutMs: opts.timeoutMs });
      this.stopping = this.done.finally(() => this.events.complete());
    }
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts storing a source's stream in files, from a worker of its own: video → `NAME.mkv` (MJPEG passed
 * through, raw frames encoded by ffmpeg, H.264 by default), audio → `NAME.wav` (RF64 past 4 GiB),
 * records → `NAME.ndjson` + `NAME.csv`; plus `NAME.timestamps.csv` and `NAME.drops.ndjson` for every stream.
 *
 * @example
 * ```ts
 * const mic = await openTone({ rate: 48000 });
 * const sink = await openFileSink(mic, { dir: '/tmp/rec', name: 'audio' });
 * // … later
 * await mic.stop();
 * const summary = await sink.stop(); // { items, frames, drops, file: '/tmp/rec/audio.wav', … }
 * ```
 */
export function openFileSink(source: RingSource, opts: FileSinkOptions): Promise<FileSink> {
  return FileSink.open(source, opts);
}
