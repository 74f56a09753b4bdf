/**
 * @senseflow/core — live sensor capture for Node.js: sources in worker threads, SharedArrayBuffer rings,
 * RxJS observables and zero-copy accessors, one monotonic clock.
 */
export * from './contract/v1/index.js';
export * from './errors.js';
export * from './clock.js';
export * from './formats.js';
export * from './validate.js';
export * from './audio-levels.js';
export * from './items.js';
export * from './attach.js';
export * from './combine.js';
export { Source, type SourceController, type SourceInternals, type SourceState, type SourceStats, type LatencySummary, type VideoSource, type AudioSource, type RecordsSource } from './source.js';
export { openSource, parseHostOptions, resolveSpecifier, type HostOptions } from './host/open-source.js';
export { RESTART_POLICIES, defaultWatchdogMs, type RestartPolicy } from './host/worker-host.js';
export type { ControlCall } from './worker/protocol.js';
export { PacedLoop, type PacedLoopOptions, type PacedTick } from './paced-loop.js';
export { RecordWriter } from './records-writer.js';
export { resolveLogger, type LogLevel, type Logger } from './log.js';
export * from './ring/layout.js';
export * from './ring/frame-ring.js';
export * from './ring/sample-ring.js';
export * from './ring/consumer.js';
export { createRingForSpec, checkSpec } from './ring/for-spec.js';
export * from './relay/relay-writer.js';
