/**
 * Control messages between the main thread and a source's worker (never data: data flows through the ring).
 */
import type { SerializedError } from '../errors.js';
import type { SourceEvent, StreamSpec } from '../contract/v1/index.js';
import type { LogLevel } from '../log.js';

export interface WorkerInit {
  /** Resolved module URL of the plugin. */
  specifier: string;
  options: unknown;
  logLevel: LogLevel;
  /** Present on a restart: the ring to keep writing into. */
  sab?: SharedArrayBuffer;
  restartAttempt: number;
}

export type ControlRequest =
  | { t: 'start'; id: number }
  | { t: 'stop'; id: number }
  | { t: 'close'; id: number }
  | { t: 'getControl'; id: number; name: string }
  | { t: 'setControl'; id: number; name: string; value: number }
  | { t: 'listControls'; id: number };

export type WorkerMessage =
  | { t: 'ready'; spec: StreamSpec; sab: SharedArrayBuffer; definition: string }
  | { t: 'fail'; error: SerializedError }
  | { t: 'reply'; id: number; ok: true; value?: unknown }
  | { t: 'reply'; id: number; ok: false; error: SerializedError }
  | { t: 'event'; event: SourceEvent };
