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

  const aligned$ = new Observable<CombinedRead<T>>((sub) => {
    // Keep the recent history of each non-lead frame stream (copies: they outlive the callback).
    const history = new Map<string, SourceItem[]>();
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
    subs.push(
      sources[lead].frames$.subscribe({
        next: (item) => {
          const t = item.captureNs;
          const out: Record<string, unknown> = { atNs: t, [lead]: item };
          for (const n of names) {
            if (n === lead) continue;
            const r = audioReaders.get(n);
            if (r) {
              const frames = framesFor(n);
              const end = r.frameAt(t);
              out[n] = end === null ? null : r.readRange(end - BigInt(frames) < 0n ? 0n : end - BigInt(frames), frames);
            } else {
              const h = history.get(n)!;
              let best: SourceItem | null = null;
              for (const x of h) if (x.captureNs <= t) best = x;
              out[n] = best;
            }
          }
          sub.next(out as CombinedRead<T>);
        },
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      }),
    );
    return () => subs.forEach((s) => s.unsubscribe());
  });

  return { read, aligned$ };
}
