/**
 * Messages between an McapSink (main thread) and its worker: control, source events (rare), progress a
 * few times a second and the summary — never per-item data (the worker reads the rings itself).
 */
import type { SerializedError, StreamSpec } from '@senseflow/core';
import type { SinkProgress } from '../file/protocol.js';
import type { McapFileOptions } from './file-writer.js';

export interface McapWorkerData {
  file: string;
  streams: { name: string; ring: SharedArrayBuffer; spec: StreamSpec }[];
  options: McapFileOptions;
}

/** One stream's counts in the MCAP file, plus its channel topics. */
export interface McapStreamProgress extends SinkProgress {
  /** The stream's data channel (`/NAME`), its drop ledger (`/NAME/drops`) and events (`/NAME/events`). */
  topic: string;
  schema: string;
}

export interface McapSummary {
  file: string;
  bytes: number;
  streams: Record<string, McapStreamProgress>;
  /** True once the summary and index were written (a clean finish). */
  complete: boolean;
  error: SerializedError | null;
}

export type ToMcapWorker =
  | { t: 'start'; originNs: string; metadata: Record<string, string>; baselines: Record<string, Record<string, number>> }
  | { t: 'event'; stream: string; event: Record<string, unknown> }
  | { t: 'stop' }
  | { t: 'finish'; metadata: Record<string, string> | null };

export type FromMcapWorker =
  | { t: 'ready' }
  | { t: 'progress'; summary: McapSummary }
  | { t: 'error'; error: SerializedError }
  | { t: 'stopped'; summary: McapSummary }
  | { t: 'done'; summary: McapSummary };
