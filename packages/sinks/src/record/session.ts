/**
 * A recording session: one FileSink per stream, all on one time origin, and `DIR/session.json`
 * describing them (kept current while recording, finalized on stop).
 */
import { basename } from 'node:path';
import { Subject, type Observable } from 'rxjs';
import { clockAnchor, InvalidOptionError, monotonicNs, serializeError, type IOError, type SenseflowError } from '@senseflow/core';
import { openFileSink, type FileSink, type RingSource } from '../file/file-sink.js';
import type { SinkProgress, SinkSummary, VideoEncodeOptions } from '../file/protocol.js';
import type { McapSummary } from '../mcap/protocol.js';
import { ensureDir } from './ensure-dir.js';
import { mcapPath, openMcapSink, type McapSink } from '../mcap/mcap-sink.js';
import { mcapManifest, mcapStreamEntry } from '../mcap/manifest.js';
import type { McapFileOptions } from '../mcap/file-writer.js';
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
  /**
   * What to write: `files` (default: .mkv/.wav/.ndjson per stream), `mcap` (one `session.mcap`, see
   * docs/interop.md), or both (`['files', 'mcap']`).
   */
  format?: RecordFormat | RecordFormat[];
  /** MCAP chunking and compression (format `mcap`). */
  mcap?: McapFileOptions;
}

export type RecordFormat = 'files' | 'mcap';
const RECORD_FORMATS: RecordFormat[] = ['files', 'mcap'];

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
    /** The session's MCAP sink (format `mcap`), or null. */
    private readonly mcap: McapSink | null = null,
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
      mcap: null,
    };
    this.mcap?.errors$.subscribe((error) => this.events.next({ type: 'error', stream: 'mcap', error }));
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
    if (this.sinks.size === 0 && this.mcap) Object.assign(streams, this.mcap.progress().streams);
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
      const mcap = this.mcap ? await this.mcap.stop() : null; // resolves with the last counts even if its worker died
      if (mcap) this.setMcap(mcap);
      this.manifest.stoppedAt = new Date().toISOString();
      this.manifest.complete = true;
      writeManifest(this.dir, this.manifest);
      if (this.mcap) {
        // The final manifest goes into the MCAP file as Metadata; then session.json notes the file is complete.
        try {
          this.setMcap(await this.mcap.finish({ manifest: JSON.stringify(this.manifest) }));
        } catch (e) {
          const error = serializeError(e);
          this.manifest.mcap = { ...this.manifest.mcap!, complete: false, error: { code: error.code, message: error.message } };
          this.events.next({ type: 'error', stream: 'mcap', error: e as SenseflowError });
        }
        writeManifest(this.dir, this.manifest);
      }
      this.events.complete();
      return structuredClone(this.manifest);
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** MCAP counts into the manifest; a session recorded to MCAP only takes its stream entries from them. */
  private setMcap(s: McapSummary): void {
    this.manifest.mcap = mcapManifest(s);
    if (this.sinks.size === 0 && this.mcap)
      this.manifest.streams = Object.entries(this.mcap.specs).map(([n, spec]) =>
        mcapStreamEntry(n, spec, this.devices[n] ?? spec.description ?? spec.deviceId ?? n, s.file, s.streams[n], s.error),
      );
  }

  private refresh(): void {
    this.manifest.streams = [...this.sinks].map(([name, sink]) => this.streamEntry(name, sink, sink.progress()));
    if (this.mcap) this.setMcap(this.mcap.progress());
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
  const formats = [opts.format ?? 'files'].flat();
  const bad = formats.find((f) => !RECORD_FORMATS.includes(f));
  if (bad !== undefined || formats.length === 0) throw new InvalidOptionError('format', `one or more of ${RECORD_FORMATS.join(', ')}`, opts.format);
  ensureDir(opts.dir);
  // Open every sink (in parallel: each is a worker), then give them all one origin: now.
  const withFiles = formats.includes('files') ? names : [];
  const opening = withFiles.map((name) => openFileSink(opts.streams[name], { dir: opts.dir, name, video: opts.video, deferStart: true }));
  const mcapOpening = formats.includes('mcap') ? openMcapSink(opts.streams, { ...opts.mcap, file: mcapPath(opts.dir), deferStart: true }) : null;
  const opened = await Promise.allSettled(opening);
  const mcapOpened = mcapOpening ? await Promise.allSettled([mcapOpening]).then((r) => r[0]) : null;
  const failed = [...opened, ...(mcapOpened ? [mcapOpened] : [])].find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(opened.map((r) => (r.status === 'fulfilled' ? r.value.stop() : null)));
    if (mcapOpened?.status === 'fulfilled') await mcapOpened.value.close().catch(() => {});
    throw (failed as PromiseRejectedResult).reason;
  }
  const sinks = new Map<string, FileSink>(withFiles.map((n, i) => [n, (opened[i] as PromiseFulfilledResult<FileSink>).value]));
  const mcap = mcapOpened ? (mcapOpened as PromiseFulfilledResult<McapSink>).value : null;
  const anchor = clockAnchor();
  const originNs = monotonicNs();
  const originWallMs = anchor.wallTimeMs + Number(originNs - anchor.monotonicNs) / 1e6;
  for (const s of sinks.values()) s.start(originNs);
  mcap?.start(originNs, { 'clock.monotonicNs': String(originNs), 'clock.wallTime': new Date(originWallMs).toISOString(), streams: names.join(',') });
  return new Recording(opts.dir, originNs, sinks, opts.devices ?? {}, new Date(originWallMs), opts.manifestIntervalMs ?? 1000, mcap);
}
