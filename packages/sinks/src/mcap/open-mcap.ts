/**
 * Replay: every data channel of an MCAP file as a senseflow Source, each in its own worker (the replay
 * source plugin) writing its ring with the original seq and capture times.
 */
import { openSource, type HostOptions, type Source } from '@senseflow/core';
import { readMcapInfo, type McapChannelInfo } from './read.js';
import type { McapReplayOptions } from './replay-source.js';

export interface OpenMcapOptions {
  /** `realtime` (default): the original spacing; `fast`: as fast as the file reads (slow readers lose items, counted). */
  pace?: 'realtime' | 'fast';
  /** Start over at the end; each pass continues seq and capture times after the previous one. Default false. */
  loop?: boolean;
  /** `original` (default): capture times as recorded; `now`: shifted so the file starts when the replay starts. */
  time?: 'original' | 'now';
  /** Only these topics (default: every replayable data channel). */
  topics?: string[];
  /** Worker host options for every source (autoStart, logLevel, …). */
  host?: HostOptions;
}

/** A replayed file: its sources by stream name (the topic without its leading `/`). */
export interface McapReplay extends AsyncDisposable {
  readonly file: string;
  readonly sources: Record<string, Source>;
  /** The topic of each source. */
  readonly topics: Record<string, string>;
  /** Closes every source. Idempotent. */
  close(): Promise<void>;
}

/** senseflow's own side channels (drop ledger, events) are not streams to replay. */
const isSideChannel = (c: McapChannelInfo) => c.schema?.name === 'senseflow.Drop' || c.schema?.name === 'senseflow.SourceEvent';

/** The replayable channels of a file (senseflow's side channels left out). */
export async function mcapTopics(file: string): Promise<string[]> {
  const info = await readMcapInfo(file);
  return info.channels.filter((c) => !isSideChannel(c)).map((c) => c.topic);
}

/**
 * Opens each data channel of an MCAP file — senseflow's own recordings and Foxglove-schema files of other
 * writers (CompressedImage as JPEG, RawImage, RawAudio pcm-s16, JSON records) — as a Source that replays
 * it with its original seq and capture times. Channels of the same file stay aligned in realtime pace.
 *
 * @example
 * ```ts
 * const replay = await openMcap('rec/session.mcap', { pace: 'realtime' });
 * replay.sources.video.frames$.subscribe((f) => console.log(f.seq, f.captureNs));
 * // later
 * await replay.close();
 * ```
 */
export async function openMcap(file: string, opts: OpenMcapOptions = {}): Promise<McapReplay> {
  const info = await readMcapInfo(file);
  const channels = info.channels.filter((c) => !isSideChannel(c) && (!opts.topics || opts.topics.includes(c.topic)));
  const t0 = new SharedArrayBuffer(8);
  const settled = await Promise.allSettled(
    channels.map((c) =>
      openSource(
        new URL('./mcap-source.js', import.meta.url),
        { file, topic: c.topic, pace: opts.pace, loop: opts.loop, time: opts.time, t0, fileStartNs: info.startTime === null ? undefined : String(info.startTime) } satisfies McapReplayOptions,
        opts.host,
      ),
    ),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(settled.map((r) => (r.status === 'fulfilled' ? r.value.close() : null)));
    throw (failed as PromiseRejectedResult).reason;
  }
  const names = channels.map((c) => c.topic.replace(/^\//, '') || c.topic);
  const sources = Object.fromEntries(names.map((n, i) => [n, (settled[i] as PromiseFulfilledResult<Source>).value]));
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= Promise.allSettled(Object.values(sources).map((s) => s.close())).then(() => {}));
  return { file, sources, topics: Object.fromEntries(names.map((n, i) => [n, channels[i].topic])), close, [Symbol.asyncDispose]: close };
}
