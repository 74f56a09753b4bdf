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
  /** On a restart: the source was running, so the host starts it again and the gap is counted in items. */
  resumeRunning: boolean;
  /** Int32[1] the worker increments every {@link HEARTBEAT_MS} while its event loop turns (the watchdog reads it). */
  heartbeat: SharedArrayBuffer;
  /** Int32[2]: {@link Mailbox} words, counting the messages the host posted and the worker took. */
  mailbox: SharedArrayBuffer;
  /**
   * A replacement started while the worker it replaces is still being ended: it loads its plugin and checks
   * the options, then waits for {@link GoMessage} before it describes, opens the device or touches the ring.
   */
  gated: boolean;
}

/**
 * Words of {@link WorkerInit.mailbox}: the host adds 1 to POSTED before each message it posts to the worker,
 * the worker adds 1 to TAKEN as each arrives. They differ while a message waits for the worker's event loop,
 * which native code that runs long without returning to JavaScript can see (`ctx.controlPending()`).
 */
export const Mailbox = { POSTED: 0, TAKEN: 1 } as const;

/** How often a source worker beats (ms). The watchdog allows max(1 s, 5 periods) without a beat. */
export const HEARTBEAT_MS = 100;

/** host → a gated worker: the worker it replaces has exited, the device and the ring are its own now. */
export type GoMessage = { t: 'go' };

export type ControlRequest =
  | { t: 'start'; id: number }
  | { t: 'stop'; id: number }
  | { t: 'close'; id: number }
  | { t: 'getControl'; id: number; name: string }
  | { t: 'setControl'; id: number; name: string; value: number }
  | { t: 'listControls'; id: number };
/** A control request without its id (what a SourceController answers). */
export type ControlCall = ControlRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export type WorkerMessage =
  | { t: 'ready'; spec: StreamSpec; sab: SharedArrayBuffer; definition: string }
  | { t: 'fail'; error: SerializedError }
  /** The plugin reported a capture failure (`ctx.error`): the host treats it as a crash. */
  | { t: 'failed'; error: SerializedError }
  | { t: 'reply'; id: number; ok: true; value?: unknown }
  | { t: 'reply'; id: number; ok: false; error: SerializedError }
  | { t: 'event'; event: SourceEvent };
