/**
 * @senseflow/nats — sensor graphs across machines on NATS. `publish(source)` puts a source's items on
 * `sf.<host>.<node>.<stream>`; `openRemote({ subject })` (or `openSource('@senseflow/nats/source', …)`)
 * opens it elsewhere as a local source with the same API. See docs/nats.md.
 */
import { openSource, type HostOptions, type Source, type SourceItem } from '@senseflow/core';
import type { RemoteOptions } from './source.js';

export { publish, type Publisher, type PublishOptions, type PublisherStats, type StreamEntry } from './publish.js';
export { listRemoteStreams, controlRemote } from './discovery.js';
export { ClockSync, type ClockOffset } from './clock-sync.js';
export { parseRemoteOptions, type RemoteOptions } from './source.js';
export type { NatsConnectionOptions } from './connection.js';
export * from './subjects.js';
export { Reassembler, chunksOf, decodeChunk, encodeChunk, decodeFormat, encodeFormat } from './wire.js';

/**
 * Opens a stream published with `publish()` (on this or another machine) as a local source.
 *
 * @example
 * ```ts
 * const cam = await openRemote({ servers: 'nats://robot:4222', subject: 'sf.robot.node.front' });
 * cam.frames$.subscribe((f) => console.log(f.seq, f.captureNs)); // the publisher's seq and capture time
 * cam.events$.subscribe((e) => e.type === 'custom' && e.name === 'clock' && console.log(e.payload)); // offset ± uncertainty
 * ```
 */
export function openRemote<I extends SourceItem = SourceItem>(options: Partial<RemoteOptions> & { subject: string }, host?: HostOptions): Promise<Source<I>> {
  return openSource<I>(new URL('./source.js', import.meta.url), options, host);
}
