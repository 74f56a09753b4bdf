/**
 * MCAP on the command line: `--format files|mcap|files,mcap` for `record`, and `mcap:FILE[#TOPIC]` as a
 * `--video` or `--audio` input (a channel of an MCAP file replayed at its original pace with its original
 * seq, capture times moved to now; without TOPIC, the file's first channel of that kind).
 */
import { DeviceNotFoundError, type HostOptions, type Source } from '@senseflow/core';
import { mcapTopics, openMcap, type RecordFormat } from '@senseflow/sinks';
import { UsageError } from './exit-codes.js';

const FORMATS: RecordFormat[] = ['files', 'mcap'];

/** `--format files,mcap` → ['files', 'mcap'] (default files). */
export function recordFormats(flag: string | undefined): RecordFormat[] {
  if (flag === undefined) return ['files'];
  const list = flag.split(',').map((s) => s.trim());
  const bad = list.find((f) => !FORMATS.includes(f as RecordFormat));
  if (bad !== undefined || list.length === 0) throw new UsageError(`--format expects files, mcap or files,mcap, got '${flag}'`);
  return [...new Set(list)] as RecordFormat[];
}

export const isMcapInput = (input: string): boolean => input.startsWith('mcap:');

/** Opens `mcap:FILE[#TOPIC]` as a source of `kind` (stopped, like the other inputs). */
export async function openMcapInput<S extends Source>(input: string, kind: 'video' | 'audio', host: HostOptions): Promise<{ source: S; device: string }> {
  const spec = input.slice('mcap:'.length);
  const hash = spec.lastIndexOf('#');
  const file = hash >= 0 ? spec.slice(0, hash) : spec;
  if (!file) throw new UsageError(`--${kind} mcap: needs a file, e.g. --${kind} mcap:rec/session.mcap#/${kind}`);
  let topic = hash >= 0 ? spec.slice(hash + 1) : null;
  if (topic && !topic.startsWith('/')) topic = `/${topic}`;
  const topics = topic ? [topic] : await mcapTopics(file);
  // Capture times shifted to now (spacing and seq kept): a recording keeps only items captured after it began.
  const replay = await openMcap(file, { topics, host, time: 'now' });
  const match = Object.entries(replay.sources).find(([, s]) => s.spec.kind === kind);
  for (const [, s] of Object.entries(replay.sources)) if (s !== match?.[1]) await s.close();
  if (!match) {
    throw new DeviceNotFoundError(
      topic ? `${file}#${topic} is not a ${kind} channel` : `${file} has no ${kind} channel (channels: ${topics.join(', ') || 'none'})`,
      { file, topic },
    );
  }
  return { source: match[1] as S, device: `[mcap] ${file}#${replay.topics[match[0]]}` };
}
