/**
 * A recording session: one FileSink per stream, all on one time origin, and `DIR/session.json`
 * describing them (kept current while recording, finalized on stop).
 */
import { basename } from 'node:path';
import { Subject, type Observable, type Subscription } from 'rxjs';
import { clockAnchor, InvalidOptionError, monotonicNs, serializeError, type IOError, type SenseflowError, type SourceEvent } from '@senseflow/core';
import { openFileSink, type FileSink, type RingSource } from '../file/file-sink.js';
import type { SinkProgress, SinkSummary, VideoEncodeOptions } from '../file/protocol.js';
import type { McapSummary } from '../mcap/protocol.js';
import { mcapPath, openMcapSink, type McapSink } from '../mcap/mcap-sink.js';
import { mcapManifest, mcapStreamEntry } from '../mcap/manifest.js';
import type { McapFileOptions } from '../mcap/file-writer.js';
import { writeManifest, type ManifestStream, type SessionManifest } from './manifest.js';
import { openSessionDir, type SessionLock } from './session-dir.js';

export interface RecordOptions {
  /**
   * Session directory (created if missing). It must be empty unless `overwrite` is true, and it is locked
   * for the whole recording (a second recorder into it fails at start with `DeviceBusyError`).
   */
  dir: string;
  /** Write into a directory that already holds files (files of the same names are replaced). Default false. */
  overwrite?: boolean;
  /**
   * Streams by name (the name is the file stem): `{ video: cam, audio: mic, stats }`. A `Source` (anything
   * with `events$`) also has its events — crash, restart, stall, disconnect, error — kept in the manifest.
   */
  streams: Record<string, RingSource & { events$?: Observable<SourceEvent | { type: string; atNs: bigint }> }>;
  /** Raw video encoding (MJPEG is passed through). */
  video?: VideoEncodeOptions;
  /** Device strings for the manifest, by stream name (default: the spec's description). */
  devices?: Record<string, string>;
  /**
   * How often session.json is refreshed while recording (default 500 ms, so with the sinks' 250 ms progress
   * the manifest on disk is never more than ~0.75 s behind the data; 0 = only at start and stop).
   */
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

/**
 * Where a recording stands. `elapsedS` is the seeds' `recordingTime` (seconds since the origin) and
 * `streams[name].items` their `frameCount` (video frames / audio chunks / records stored; audio sample
 * frames in `frames`).
 */
export interface RecordingProgress {
  elapsedS: number;
  streams: Record<string, SinkProgress>;
}

/** A source event as kept in the manifest: bigints as decimal strings, errors as `{ code, message }`. */
export type ManifestEvent = { type: string; atNs: string; [k: string]: unknown };

/**
 * `error`: a stream's (or, with stream `session`, the manifest's) write failed — once per failure.
 * `source`: the stream's source reported an event (every kind flows through, including future ones).
 */
export type RecordingEvent =
  | { type: 'error'; stream: string; error: SenseflowError }
  | { type: 'source'; stream: string; event: ManifestEvent };

/** Plain JSON for an event: bigints → strings, errors → { code, message }. */
function eventJson(ev: { type: string; atNs: bigint }): ManifestEvent {
  const out: ManifestEvent = { type: ev.type, atNs: String(ev.atNs) };
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'type' || k === 'atNs') continue;
    if (typeof v === 'bigint') out[k] = String(v);
    else if (v && typeof v === 'object' && 'message' in v) out[k] = { code: (v as { code?: string }).code ?? 'EPLUGIN', message: String((v as { message: unknown }).message) };
    else out[k] = v;
  }
  return out;
}

/** Lifecycle events every recording has (start/stop of the sources); the manifest keeps what happened to them. */
const ROUTINE = new Set(['started', 'stopped', 'closed']);

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
  private readonly sourceEvents = new Map<string, ManifestEvent[]>();
  private readonly subscriptions: Subscription[] = [];
  private readonly reported = new Set<string>();

  /** @internal */
  constructor(
    readonly dir: string,
    readonly originNs: bigint,
    private readonly sinks: Map<string, FileSink>,
    private readonly devices: Record<string, string>,
    startedAt: Date,
    intervalMs: number,
    private readonly lock: SessionLock,
    sources: RecordOptions['streams'],
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
    for (const [name, sink] of sinks) {
      this.sourceEvents.set(name, []);
      sink.events$.subscribe((ev) => {
        if (ev.type === 'error') this.events.next({ type: 'error', stream: name, error: ev.error });
      });
      // Generic: every event kind the source reports (today's and future ones) is kept and passed on.
      const events$ = sources[name]?.events$;
      if (events$)
        this.subscriptions.push(
          events$.subscribe((ev) => {
            if (ROUTINE.has(ev.type) || this.stopping) return;
            const e = eventJson(ev);
            this.sourceEvents.get(name)!.push(e);
            this.events.next({ type: 'source', stream: name, event: e });
          }),
        );
    }
    this.refresh();
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.refresh(), intervalMs);
      this.timer.unref();
    }
  }

  get manifestPath(): string {
    return `${this.dir}/session.json`;
  }

  /**
   * Where the recording stands, from the sinks' last reports (≤ 250 ms old): `elapsedS` is the seeds'
   * recordingTime, `streams[name].items` their frameCount.
   *
   * @example
   * ```ts
   * const { elapsedS, streams } = rec.progress();
   * console.log(`${elapsedS.toFixed(1)} s, ${streams.video.items} frames`);
   * ```
   */
  progress(): RecordingProgress {
    const streams: Record<string, SinkProgress> = {};
    for (const [name, sink] of this.sinks) streams[name] = sink.progress();
    if (this.sinks.size === 0 && this.mcap) Object.assign(streams, this.mcap.progress().streams);
    return { elapsedS: Number(monotonicNs() - this.originNs) / 1e9, streams };
  }

  /**
   * Stops every sink (storing what the rings still hold), finalizes the files, writes session.json and
   * releases the directory. Idempotent; never rejects for a write error (that is in the manifest and on
   * `events$`). With `timeoutMs`, items still waiting after that long are counted (`drops.stopped`)
   * instead of stored, so an overloaded recording still stops promptly.
   */
  stop(opts: { timeoutMs?: number } = {}): Promise<SessionManifest> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      for (const s of this.subscriptions) s.unsubscribe();
      // A sink whose worker died still gets an entry: its last counts and the error (the files stay as they are).
      const summaries = new Map<string, SinkProgress | SinkSummary>();
      await Promise.all(
        [...this.sinks].map(async ([name, sink]) => {
          try {
            summaries.set(name, await sink.stop(opts));
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
      // Complete: every item the sources gave was stored, or lost for a reason outside the recording.
      const why: string[] = [];
      for (const st of this.manifest.streams) {
        if (st.error) why.push(`${st.name}: ${st.error.message}`);
        if (st.drops.stopped) why.push(`${st.name}: ${st.drops.stopped} items not stored at the stop deadline`);
      }
      this.manifest.complete = why.length === 0;
      this.manifest.reason = why.length ? why.join('; ') : null;
      this.write();
      if (this.mcap) {
        // The final manifest goes into the MCAP file as Metadata; then session.json notes the file is complete.
        try {
          this.setMcap(await this.mcap.finish({ manifest: JSON.stringify(this.manifest) }));
        } catch (e) {
          const error = serializeError(e);
          this.manifest.mcap = { ...this.manifest.mcap!, complete: false, error: { code: error.code, message: error.message } };
          this.events.next({ type: 'error', stream: 'mcap', error: e as SenseflowError });
        }
        this.write();
      }
      this.lock.release();
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
    this.write();
  }

  /** Writes session.json; a failure is reported once (the same failure a second later is not news). */
  private write(): void {
    try {
      writeManifest(this.dir, this.manifest);
    } catch (e) {
      const key = (e as Error).message;
      if (this.reported.has(key)) return;
      this.reported.add(key);
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
      error: s.error ? { code: s.error.code, message: s.error.message, atNs: p.failedAtNs ?? null } : null,
      events: [...(this.sourceEvents.get(name) ?? [])],
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
  const interval = opts.manifestIntervalMs ?? 500;
  if (!Number.isFinite(interval) || interval < 0) throw new InvalidOptionError('manifestIntervalMs', 'a number of milliseconds ≥ 0', opts.manifestIntervalMs);
  // Lock first: the directory is ours (and known writable) before any sink opens or anything is captured.
  const lock = openSessionDir(opts.dir, opts.overwrite === true);
  // Open every sink (in parallel: each is a worker), then give them all one origin: now.
  const withFiles = formats.includes('files') ? names : [];
  const opening = withFiles.map((name) => openFileSink(opts.streams[name], { dir: opts.dir, name, video: opts.video, deferStart: true }));
  const mcapOpening = formats.includes('mcap') ? openMcapSink(opts.streams, { ...opts.mcap, file: mcapPath(opts.dir), deferStart: true }) : null;
  const opened = await Promise.allSettled(opening);
  const mcapOpened = mcapOpening ? await Promise.allSettled([mcapOpening]).then((r) => r[0]) : null;
  const failed = [...opened, ...(mcapOpened ? [mcapOpened] : [])].find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(opened.map((r) => (r.status === 'fulfilled' ? r.value.stop() : null)));
    lock.release();
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
  return new Recording(opts.dir, originNs, sinks, opts.devices ?? {}, new Date(originWallMs), interval, lock, opts.streams, mcap);
}
