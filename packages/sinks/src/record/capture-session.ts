/**
 * A capture session: the start/record/stop order done for you. Opens every source paused, starts the
 * recording (sinks ready, one origin), then starts the sources together; `stop()` stops the sources first,
 * then the recording (which stores what the rings still hold), then closes the sources.
 */
import type { HostOptions, Source } from '@senseflow/core';
import { InvalidOptionError } from '@senseflow/core';
import type { SessionManifest } from './manifest.js';
import { record, type RecordingProgress, type RecordOptions, type Recording } from './session.js';

/** Opens one source with the host options it is given (they keep it paused: `autoStart: false`). */
export type SourceOpener = (host: HostOptions) => Promise<Source>;

export interface CaptureSessionOptions extends Omit<RecordOptions, 'streams'> {
  /** Streams by name (the file stem), each as an opener: `{ video: (h) => openTestPattern({ fps: 30 }, h) }`. */
  sources: Record<string, SourceOpener>;
  /** Host options given to every opener (`autoStart` is always false). */
  host?: HostOptions;
}

export class CaptureSession implements AsyncDisposable {
  private stopping: Promise<SessionManifest> | null = null;

  /** @internal */
  constructor(
    /** The open sources by stream name (read them live: `latest()`, `frames$`, `stats$`). */
    readonly sources: Record<string, Source>,
    /** The recording (its `events$` carries write errors and source events). */
    readonly recording: Recording,
  ) {}

  /** `elapsedS` = recordingTime, `streams[name].items` = frameCount (see {@link Recording.progress}). */
  progress(): RecordingProgress {
    return this.recording.progress();
  }

  /**
   * Stops the sources, then the recording (storing what the rings hold; with `timeoutMs`, what is left
   * after that long is counted as `drops.stopped`), then closes the sources. Idempotent.
   */
  stop(opts: { timeoutMs?: number } = {}): Promise<SessionManifest> {
    this.stopping ??= (async () => {
      const all = Object.values(this.sources);
      await Promise.allSettled(all.map((s) => s.stop()));
      try {
        return await this.recording.stop(opts);
      } finally {
        await Promise.allSettled(all.map((s) => s.close()));
      }
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Opens the sources paused, starts recording them into `dir`, and starts them together.
 *
 * @example
 * ```ts
 * const session = await startSession({
 *   dir: 'rec',
 *   sources: { video: (h) => openTestPattern({ fps: 30 }, h), audio: (h) => openTone({}, h) },
 * });
 * await new Promise((r) => setTimeout(r, 5000));
 * const { elapsedS, streams } = session.progress(); // recordingTime, frameCount
 * const manifest = await session.stop();
 * ```
 */
export async function startSession(opts: CaptureSessionOptions): Promise<CaptureSession> {
  const entries = Object.entries(opts?.sources ?? {});
  if (entries.length === 0 || entries.some(([, f]) => typeof f !== 'function'))
    throw new InvalidOptionError('sources', 'stream names mapped to openers, e.g. { video: (host) => openTestPattern({}, host) }', opts?.sources);
  const host: HostOptions = { ...opts.host, autoStart: false };
  const opened = await Promise.allSettled(entries.map(([, open]) => open(host)));
  const sources: Record<string, Source> = {};
  entries.forEach(([name], i) => {
    const r = opened[i];
    if (r.status === 'fulfilled') sources[name] = r.value;
  });
  const closeAll = () => Promise.allSettled(Object.values(sources).map((s) => s.close()));
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed) {
    await closeAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  const { sources: _openers, host: _host, ...rest } = opts;
  let rec: Recording;
  try {
    rec = await record({ ...rest, streams: sources });
  } catch (e) {
    await closeAll();
    throw e;
  }
  try {
    await Promise.all(Object.values(sources).map((s) => s.start()));
  } catch (e) {
    const session = new CaptureSession(sources, rec);
    await session.stop();
    throw e;
  }
  return new CaptureSession(sources, rec);
}
