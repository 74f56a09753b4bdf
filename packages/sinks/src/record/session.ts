/**
 * A recording session: one FileSink per stream, all on one time origin, and `DIR/session.json`
 * describing them (kept current while recording, finalized on stop).
 */
import { basename } from 'node:path';
import { Subject, type Observable } from 'rxjs';
import { clockAnchor, InvalidOptionError, monotonicNs, serializeError, type IOError, type SenseflowError } from '@senseflow/core';
import { openFileSink, type FileSink, type RingSource } from '../file/file-sink.js';
import type { SinkProgress, SinkSummary, VideoEncodeOptions } from '../file/protocol.js';
import { ensureDir } from './ensure-dir.js';
import { writeManifest, type ManifestStream, type SessionManifest } from './manifest.js';

export interface RecordOptions {
  /** Session directory (created if missing). */
  dir: string;
  /** Streams by name (the name is the file stem): `{ video: cam, audio: mic, stats }`. */
  streams: Record<string, RingSource>;
  /** Raw video encoding (MJPEG is passed through). */
  video?: VideoEncodeOptions;
  /** Device strings for the manifest, by stream name (default: the spec's description). */
  devices?: Record<string, string>;
  /** How often session.json is refreshed while recording (default 1000 ms; 0 = only at start and stop). */
  manifestIntervalMs?: number;
}

export interface RecordingProgress {
  elapsedS: number;
  streams: Record<string, SinkProgress>;
}

export type RecordingEvent = { type: 'error'; stream: string; error: SenseflowError };

/**
 * A running recording. Stop your sources first (`await source.stop()`), then `await recording.stop()`,
 * so every item up to the sources' last one is stored.
 */
export class Recording implements AsyncDisposable {
  readonly events$: Observable<RecordingEvent>;
  private readonly events = new Subject<RecordingEvent>();
  private timer: NodeJS.Timeout | null = null;
  private stopping: Promise<SessionManifest> | null = null;
  private readonly manifest: SessionManifest;

  /** @internal */
  constructor(
    readonly dir: string,
    readonly originNs: bigint,
    private readonly sinks: Map<string, FileSink>,
    private readonly devices: Record<string, string>,
    startedAt: Date,
    intervalMs: number,
  ) {
    this.events$ = this.events.asObservable();
    this.manifest = {
      version: 1,
      startedAt: startedAt.toISOString(),
      stoppedAt: null,
      complete: false,
      clock: { monotonicNs: String(originNs), wallTime: startedAt.toISOString() },
      streams: [],
      merged: null,
    };
    for (const [name, sink] of sinks)
      sink.events$.subscribe((ev) => {
        if (ev.type === 'error') this.events.next({ type: 'error', stream: name, error: ev.error });
      });
    this.refresh();
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.refresh(), intervalMs);
      this.timer.unref();
    }
  }

  get manifestPath(): string {
    return `${this.dir}/session.json`;
  }

  progress(): RecordingProgress {
    const streams: Record<string, SinkProgress> = {};
    for (const [name, sink] of this.sinks) streams[name] = sink.progress();
    return { elapsedS: Number(monotonicNs() - this.originNs) / 1e9, streams };
  }

  /** Stops every sink (storing what the rings still hold), finalizes the files and writes session.json. Idempotent. */
  stop(): Promise<SessionManifest> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      // A sink whose worker died still gets an entry: its last counts and the error (the files stay as they are).
      const summaries = new Map<string, SinkProgress | SinkSummary>();
      await Promise.all(
        [...this.sinks].map(async ([name, sink]) => {
          try {
            summaries.set(name, await sink.stop());
          } catch (e) {
            const error = serializeError(e);
            summaries.set(name, { ...sink.progress(), error } as SinkSummary);
            this.events.next({ type: 'error', stream: name, error: e as SenseflowError });
          }
        }),
      );
      this.manifest.streams = [...this.sinks].map(([name, sink]) => this.streamEntry(name, sink, summaries.get(name)!));
      this.manifest.stoppedAt = new Date().toISOString();
      this.manifest.complete = true;
      writeManifest(this.dir, this.manifest);
      this.events.complete();
      return structuredClone(this.manifest);
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private refresh(): void {
    this.manifest.streams = [...this.sinks].map(([name, sink]) => this.streamEntry(name, sink, sink.progress()));
    try {
      writeManifest(this.dir, this.manifest);
    } catch (e) {
      this.events.next({ type: 'error', stream: 'session', error: e as IOError });
    }
  }

  private streamEntry(name: string, sink: FileSink, p: SinkProgress | SinkSummary): ManifestStream {
    const spec = sink.spec;
    const rel = (f: string) => basename(f);
    const s = p as Partial<SinkSummary>;
    return {
      name,
      kind: spec.kind,
      device: this.devices[name] ?? spec.description ?? spec.deviceId ?? name,
      spec,
      file: rel(sink.file),
      files: (s.files ?? [sink.file, ...(spec.kind === 'records' ? [sink.file.replace(/\.ndjson$/, '.csv')] : [])]).map(rel),
      timestamps: `${name}.timestamps.csv`,
      dropLedger: `${name}.drops.ndjson`,
      storage: s.storage ?? sink.storage,
      items: p.items,
      ...(spec.kind === 'audio' ? { frames: p.frames } : {}),
      bytes: p.bytes,
      drops: p.drops,
      firstCaptureNs: p.firstCaptureNs,
      lastCaptureNs: p.lastCaptureNs,
      error: s.error ? { code: s.error.code, message: s.error.message } : null,
    };
  }
}

/**
 * Records several streams into one session directory on one time origin. Each stream is stored by its
 * own worker (see {@link openFileSink}); `session.json` describes them all.
 *
 * @example
 * ```ts
 * const cam = await openTestPattern({ fps: 30 }, { autoStart: false });
 * const mic = await openTone({}, { autoStart: false });
 * const rec = await record({ dir: 'rec', streams: { video: cam, audio: mic } });
 * await Promise.all([cam.start(), mic.start()]);
 * await new Promise((r) => setTimeout(r, 5000));
 * await Promise.all([cam.stop(), mic.stop()]);
 * const manifest = await rec.stop();
 * ```
 */
export async function record(opts: RecordOptions): Promise<Recording> {
  if (!opts || typeof opts.dir !== 'string' || !opts.dir) throw new InvalidOptionError('dir', 'a directory path', opts?.dir);
  const names = Object.keys(opts.streams ?? {});
  if (names.length === 0) throw new InvalidOptionError('streams', 'at least one stream ({ name: source })', opts.streams);
  ensureDir(opts.dir);
  // Open every sink (in parallel: each is a worker), then give them all one origin: now.
  const opened = await Promise.allSettled(names.map((name) => openFileSink(opts.streams[name], { dir: opts.dir, name, video: opts.video, deferStart: true })));
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(opened.map((r) => (r.status === 'fulfilled' ? r.value.stop() : null)));
    throw (failed as PromiseRejectedResult).reason;
  }
  const sinks = new Map<string, FileSink>(names.map((n, i) => [n, (opened[i] as PromiseFulfilledResult<FileSink>).value]));
  const anchor = clockAnchor();
  const originNs = monotonicNs();
  const originWallMs = anchor.wallTimeMs + Number(originNs - anchor.monotonicNs) / 1e6;
  for (const s of sinks.values()) s.start(originNs);
  return new Recording(opts.dir, originNs, sinks, opts.devices ?? {}, new Date(originWallMs), opts.manifestIntervalMs ?? 1000);
}
