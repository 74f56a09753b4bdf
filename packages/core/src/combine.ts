import { Observable } from 'rxjs';
import { InvalidOptionError } from './errors.js';
import type { AudioChunk, RecordItem, SourceItem, VideoFrame } from './items.js';
import { SampleRingReader, type SampleBlock } from './ring/sample-ring.js';
import type { Source } from './source.js';

type AnySource = Source<SourceItem>;
export type CombinedInput = Record<string, AnySource>;

/** What `read()` and `aligned$` give per stream: the latest item, or for audio a block of samples. */
export type CombinedValue<S> = S extends Source<infer I> ? (I extends AudioChunk ? SampleBlock : I extends VideoFrame | RecordItem ? I : never) | null : never;
export type CombinedRead<T extends CombinedInput> = { [K in keyof T]: CombinedValue<T[K]> } & { atNs: bigint };

export interface CombineOptions<T extends CombinedInput> {
  /** The stream whose items drive `aligned$` (default: the first non-audio stream). */
  lead?: keyof T & string;
  /** Audio samples per tuple: this many ms ending at the lead item's capture time (default: one lead period). */
  audioWindowMs?: number;
  /**
   * How long a tuple may wait for audio to be captured up to the lead item's time (default 250 ms). Audio
   * arrives in periods, so it usually lags video by a period; past this wait the tuple goes out with the
   * audio there is, and its block is shorter.
   */
  maxWaitMs?: number;
}

export interface Combined<T extends CombinedInput> {
  /** The latest of each stream now (audio: the newest `audioWindowMs` of samples). The seeds' CombinedSource. */
  read(): CombinedRead<T>;
  /**
   * One tuple per lead item: every other stream's value AT the lead item's capture time — records/video:
   * the newest item captured at or before it; audio: the samples captured in the window ending at it.
   * Views are valid during the callback.
   */
  aligned$: Observable<CombinedRead<T>>;
}

/**
 * Combines sources (any mix of video, audio, records) into one reader.
 *
 * @example
 * ```ts
 * const av = combine({ video: cam, audio: mic, stats });
 * const { video, audio } = av.read();
 * av.aligned$.subscribe(({ video, audio }) => … );
 * ```
 */
export function combine<T extends CombinedInput>(sources: T, opts: CombineOptions<T> = {}): Combined<T> {
  const names = Object.keys(sources);
  if (names.length === 0) throw new InvalidOptionError('sources', 'at least one source', sources);
  const lead = opts.lead ?? names.find((n) => sources[n].kind !== 'audio') ?? names[0];
  if (!names.includes(lead)) throw new InvalidOptionError('lead', `one of ${names.join(', ')}`, lead);
  const leadSpec = sources[lead].spec;
  const leadPeriodMs = leadSpec.kind === 'video' ? 1000 / leadSpec.fps : leadSpec.kind === 'records' ? 1000 / leadSpec.rate : 20;
  const windowMs = opts.audioWindowMs ?? leadPeriodMs;
  const audioReaders = new Map<string, SampleRingReader>();
  const framesFor = (name: string) => {
    const spec = sources[name].spec;
    return spec.kind === 'audio' ? Math.max(1, Math.min(Math.round((spec.rate * windowMs) / 1000), spec.ring.capacityFrames)) : 0;
  };
  for (const n of names) if (sources[n].kind === 'audio') audioReaders.set(n, new SampleRingReader(sources[n].ring));

  const read = (): CombinedRead<T> => {
    const out: Record<string, unknown> = { atNs: process.hrtime.bigint() };
    for (const n of names) out[n] = sources[n].kind === 'audio' ? sources[n].read(framesFor(n)) : sources[n].latest();
    return out as CombinedRead<T>;
  };

  const maxWaitNs = BigInt(Math.round((opts.maxWaitMs ?? 250) * 1e6));
  const audioNames = [...audioReaders.keys()];
  /** Capture time up to which every audio stream has samples (null if one has none yet). */
  const audioCoveredNs = (): bigint | null => {
    let min: bigint | null = null;
    for (const r of audioReaders.values()) {
      const written = r.framesWritten();
      const t = written > 0n ? r.captureNsOf(written) : null;
      if (t === null) return null;
      if (min === null || t < min) min = t;
    }
    return min;
  };

  const aligned$ = new Observable<CombinedRead<T>>((sub) => {
    // Keep the recent history of each non-lead frame stream (copies: they outlive the callback).
    const history = new Map<string, SourceItem[]>();
    const pending: SourceItem[] = [];
    const tuple = (item: SourceItem): CombinedRead<T> => {
      const t = item.captureNs;
      const out: Record<string, unknown> = { atNs: t, [lead]: item };
      for (const n of names) {
        if (n === lead) continue;
        const r = audioReaders.get(n);
        if (r) {
          // The window ends at the lead's capture time; near the stream's start it is shorter, never shifted.
          const end = r.frameAt(t);
          const frames = end === null ? 0 : Math.min(framesFor(n), Number(end));
          out[n] = frames > 0 ? r.readRange(end! - BigInt(frames), frames) : null;
        } else {
          let best: SourceItem | null = null;
          for (const x of history.get(n)!) if (x.captureNs <= t) best = x;
          out[n] = best;
        }
      }
      return out as CombinedRead<T>;
    };
    // Emit queued lead items whose moment the audio has reached (or that waited long enough), in order.
    const flush = () => {
      const covered = audioCoveredNs();
      const now = process.hrtime.bigint();
      while (pending.length) {
        const item = pending[0];
        if (covered !== null && covered >= item.captureNs) sub.next(tuple(item));
        else if (now - item.captureNs >= maxWaitNs) sub.next(tuple(item));
        else break;
        pending.shift();
      }
    };
    const subs = names
      .filter((n) => n !== lead && sources[n].kind !== 'audio')
      .map((n) => {
        history.set(n, []);
        return sources[n].frames$.subscribe((item) => {
          const h = history.get(n)!;
          h.push(item.copy() as SourceItem);
          if (h.length > 64) h.shift();
        });
      });
    // Audio arrivals wake the queue.
    for (const n of audioNames) if (n !== lead) subs.push(sources[n].frames$.subscribe(() => flush()));
    const timer = audioNames.length ? setInterval(flush, 20) : null;
    subs.push(
      sources[lead].frames$.subscribe({
        next: (item) => {
          if (audioNames.length === 0 || lead === audioNames[0]) return sub.next(tuple(item));
          pending.push(item.copy() as SourceItem); // the view would not outlive this callback
          flush();
        },
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      }),
    );
    return () => {
      if (timer) clearInterval(timer);
      subs.forEach((s) => s.unsubscribe());
    };
  });

  return { read, aligned$ };
}
