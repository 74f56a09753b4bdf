/**
 * senseflow source contract, version 1.
 *
 * A source plugin is an ES module that exports (default or as `source`) the value returned by
 * {@link defineSource}. It runs inside a dedicated worker thread that owns the device. The host calls, in order:
 *
 * 1. `options.parse(raw)` — validate and fill defaults (throw {@link InvalidOptionError} naming the parameter);
 * 2. `describe(options)` — the stream spec, which sizes the ring;
 * 3. `open(ctx, options)` — open the device, keep the handle; may refine the spec with `ctx.setSpec()`;
 * 4. `handle.start()` / `handle.stop()` any number of times;
 * 5. `handle.close()` exactly once (also when the worker is asked to exit).
 *
 * Guarantees the host gives the plugin:
 * - `ctx.frames` / `ctx.samples` is the only writer of its ring; nothing else writes to it.
 * - `start`, `stop` and `close` are never called concurrently; `close` follows a `stop` when running.
 * - Errors thrown from any hook reach the main thread as typed errors with their `code`.
 * - The worker is supervised: if its event loop stops turning (a hang, e.g. an endless loop) for
 *   max(1 s, 5 periods), or the plugin calls `ctx.error()`, or it throws uncaught, the host ends the worker
 *   and, by policy, restarts it on the same ring; the items lost meanwhile are counted under `restart`.
 *
 * Guarantees the plugin gives the host:
 * - `start()` resolves once capture is running and does not block the worker's event loop afterwards
 *   (blocking device calls must use short timeouts and yield, so control messages and the watchdog's
 *   heartbeat are served; `ctx.loop()` yields for you).
 * - Every item carries its capture time on CLOCK_MONOTONIC (`ctx.clock.now()` is that clock).
 * - Loss is reported with `reportDrop(cause, count)`, never hidden and never a reason to stop.
 * - Device loss is reported with `ctx.disconnected()` and recovery with `ctx.reconnected()`.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { SerializedError } from '../../errors.js';
import type { FrameRingWriter } from '../../ring/frame-ring.js';
import type { SampleFormat } from '../../ring/layout.js';
import type { SampleRingWriter } from '../../ring/sample-ring.js';
import type { PacedLoop, PacedLoopOptions, PacedTick } from '../../paced-loop.js';
import type { RecordWriter } from '../../records-writer.js';

export const CONTRACT_VERSION = 1 as const;
const DEFINITION_BRAND = Symbol.for('senseflow.source-definition');

// ---- stream specs -------------------------------------------------------------------------------

interface SpecBase {
  /** Human-readable device or sensor description, e.g. `[vivid] 640x480@25fps, yuyv`. */
  description?: string;
  /** Stable identity of the device (not a /dev node number), when there is one. */
  deviceId?: string;
  /** Free-form notes the plugin wants the user to see (why a mode was chosen, fallbacks taken). */
  notes?: string[];
}

export interface VideoSpec extends SpecBase {
  kind: 'video';
  width: number;
  height: number;
  /** Pixel format of items in the ring: lower-case name (`yuyv`, `mjpeg`, `rgb24`, `bgr24`, `gray8`, `rgba`, `nv12`, …). */
  pixelFormat: string;
  /** Bytes per row for raw formats (0 for compressed formats). */
  stride: number;
  /** Nominal frame rate (frames per second); items still carry true capture times. */
  fps: number;
  /** Ring sizing: slot count and bytes per slot (≥ the largest frame). */
  ring: { slots: number; slotBytes: number };
}

export interface AudioSpec extends SpecBase {
  kind: 'audio';
  rate: number;
  channels: number;
  format: SampleFormat;
  /** Frames per chunk the source usually writes (ALSA period size). */
  periodFrames: number;
  /** Ring length in frames. */
  ring: { capacityFrames: number; chunks?: number };
}

export interface RecordField {
  /** Field name, e.g. `cpu`, `mem.used`, `net.eth0.rx`. */
  name: string;
  /** Unit, e.g. `%`, `bytes`, `bytes/s`, `°C`. */
  unit: string;
  description?: string;
}

export interface RecordsSpec extends SpecBase {
  kind: 'records';
  /** Fields of every record, in order: a record is a Float64Array with one value per field. */
  fields: RecordField[];
  /** Nominal records per second. */
  rate: number;
  ring: { slots: number };
}

export type StreamSpec = VideoSpec | AudioSpec | RecordsSpec;

// ---- the plugin side ----------------------------------------------------------------------------

/** Validates raw user options and fills defaults. A zod schema fits this shape too. */
export interface OptionsSchema<O> {
  parse(raw: unknown): O;
}

export interface SourceContextBase {
  clock: Clock;
  /** pino child logger named after the source; silent unless the user asked for logs. */
  log: Logger;
  /** Aborted when the host closes the source. */
  signal: AbortSignal;
  /** Reports that the device went away (typed disconnect event on the main thread; the stream shows a gap). */
  disconnected(reason: string, details?: Record<string, unknown>): void;
  /** Reports that the device is back and streaming again. */
  reconnected(details?: Record<string, unknown>): void;
  /**
   * Reports that capture failed (e.g. the capture loop threw). This is a crash: the host ends this worker
   * (a `crashed` event with reason `failed`) and restarts it by policy on the same ring, counting the items
   * lost meanwhile. Use {@link SourceContextBase.warn} for a problem the stream survives.
   */
  error(err: unknown): void;
  /** Reports a problem the stream survives (a `warning` event on `source.events$`; nothing is restarted). */
  warn(err: unknown): void;
  /** Sends a small custom event to the main thread (`source.events$`). Not for per-frame data. */
  emit(type: string, payload?: unknown): void;
  /**
   * True while a control message (start, stop, close, a control call) waits for this worker's event loop.
   * A loop that keeps the thread for long stretches checks it to yield at once, instead of making every
   * control call wait for the stretch to end.
   */
  controlPending(): boolean;
  /**
   * The same, for native code: Int32[2] over shared memory, [0] messages posted to this worker, [1] messages
   * it took; they differ while one waits. Hand it to an addon that loops without returning to JavaScript
   * (`native/control.h` in @senseflow/core reads it).
   */
  mailbox: Int32Array;
  /**
   * A paced loop: calls `tick` on absolute deadlines at `hz` without drift and without catch-up bursts —
   * overdue ticks are skipped and counted (`loop.missed`; for video and records each missed tick is also a
   * `driver` drop). A tick that throws ends the loop and is reported with `ctx.error` (a crash, restarted
   * by policy). Pass `loop.start` / `loop.stop` as the handle's `start` / `stop`.
   *
   * @example
   * ```ts
   * const loop = ctx.loop({ hz: 100 }, () => ctx.records.write([readSensor()]));
   * return { start: loop.start, stop: loop.stop, close: loop.stop };
   * ```
   */
  loop(options: PacedLoopOptions, tick: (t: PacedTick) => unknown): PacedLoop;
}

export interface FrameSourceContext extends SourceContextBase {
  kind: 'video' | 'records';
  /** The writer of this source's frame ring. */
  frames: FrameRingWriter;
  /** Records streams only: writes one record from its values (sized from `fields`, no byte counting). */
  records?: RecordWriter;
  samples?: undefined;
}

export interface SampleSourceContext extends SourceContextBase {
  kind: 'audio';
  /** The writer of this source's sample ring. */
  samples: SampleRingWriter;
  frames?: undefined;
}

export type SourceContext = FrameSourceContext | SampleSourceContext;

/** What `open()` returns. Methods may be sync or async. */
export interface SourceHandle {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  close(): void | Promise<void>;
  /** Optional runtime controls (camera brightness, …): get/set by name. */
  getControl?(name: string): number | Promise<number>;
  setControl?(name: string, value: number): void | Promise<void>;
  /** Optional: control names with ranges, for UIs and validation. */
  listControls?(): ControlInfo[] | Promise<ControlInfo[]>;
}

export interface ControlInfo {
  name: string;
  min: number;
  max: number;
  step: number;
  default: number;
  value?: number;
}

export interface SourceDefinition<O = unknown> {
  readonly contract: typeof CONTRACT_VERSION;
  /** Short name, e.g. `v4l2`, `alsa`, `sysstats`, `my-imu`. */
  readonly name: string;
  readonly options: OptionsSchema<O>;
  describe(options: O): StreamSpec | Promise<StreamSpec>;
  open(ctx: SourceContext, options: O, spec: StreamSpec): SourceHandle | Promise<SourceHandle>;
}

export interface SourceDefinitionInput<O> {
  name: string;
  /** A schema (`{ parse }`) or a plain function that validates raw options. Omit to accept `{}` only. */
  options?: OptionsSchema<O> | ((raw: unknown) => O);
  describe(options: O): StreamSpec | Promise<StreamSpec>;
  open(ctx: SourceContext, options: O, spec: StreamSpec): SourceHandle | Promise<SourceHandle>;
}

/**
 * Declares a source plugin (runs in the source's worker). Export the result from your module and open it
 * on the main thread with `openSource(new URL('./my-sensor.js', import.meta.url), options)`.
 *
 * @example
 * ```ts
 * export default defineSource({
 *   name: 'counter',
 *   options: (raw) => ({ hz: Number((raw as { hz?: number })?.hz ?? 10) }),
 *   describe: (o) => ({ kind: 'records', fields: [{ name: 'n', unit: '1' }], rate: o.hz, ring: { slots: 64 } }),
 *   open(ctx, o) { … return { start, stop, close }; },
 * });
 * ```
 */
export function defineSource<O>(input: SourceDefinitionInput<O>): SourceDefinition<O> {
  if (!input || typeof input.name !== 'string' || !input.name) throw new TypeError('defineSource: `name` must be a non-empty string');
  if (typeof input.describe !== 'function') throw new TypeError('defineSource: `describe` must be a function');
  if (typeof input.open !== 'function') throw new TypeError('defineSource: `open` must be a function');
  const opt = input.options;
  const options: OptionsSchema<O> =
    typeof opt === 'function' ? { parse: opt } : (opt ?? { parse: (raw: unknown) => (raw ?? {}) as O });
  const def: SourceDefinition<O> = { contract: CONTRACT_VERSION, name: input.name, options, describe: input.describe, open: input.open };
  Object.defineProperty(def, DEFINITION_BRAND, { value: CONTRACT_VERSION });
  return Object.freeze(def);
}

/** True for a value made by {@link defineSource} (any copy of senseflow). */
export function isSourceDefinition(v: unknown): v is SourceDefinition<unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[DEFINITION_BRAND] === CONTRACT_VERSION;
}

// ---- events from a source -----------------------------------------------------------------------

/**
 * Why a worker was ended: it threw uncaught (`uncaught`), exited by itself (`exited`), its event loop stopped
 * turning (`hung`: the watchdog), or the plugin reported a capture failure with `ctx.error` (`failed`).
 */
export type CrashReason = 'uncaught' | 'exited' | 'hung' | 'failed';

/**
 * Events on `source.events$`. Supervision: `crashed` (with its reason; `restarting` says whether a restart
 * follows) → `restarted` → `resumed` (with the items lost, also counted under `drops.restart`), or `failed` once the
 * restart policy gives up: the source is then in the `error` state (see `source.state`, `stats.state`).
 */
export type SourceEvent =
  | { type: 'started' | 'stopped' | 'closed'; atNs: bigint }
  | { type: 'disconnected'; atNs: bigint; reason: string; details?: Record<string, unknown> }
  | { type: 'reconnected'; atNs: bigint; details?: Record<string, unknown> }
  /** A restart attempt could not reopen the source (another attempt may follow). */
  | { type: 'error'; atNs: bigint; error: SerializedError }
  /** A problem the stream survived (`ctx.warn`). */
  | { type: 'warning'; atNs: bigint; error: SerializedError }
  | { type: 'crashed'; atNs: bigint; error: SerializedError; restarting: boolean; reason: CrashReason }
  /** The worker is back on the same ring (and started again if it was running). */
  | { type: 'restarted'; atNs: bigint; attempt: number }
  /**
   * The first item after a restart arrived: `lost` items (audio: frames) were lost between the last item
   * before the crash and this one (by capture time × rate), also counted under `drops.restart`.
   */
  | { type: 'resumed'; atNs: bigint; attempt: number; lost: number }
  /** Past its restart limit (or with restart off): the source is in the `error` state for good. */
  | { type: 'failed'; atNs: bigint; error: SerializedError; restarts: number }
  | { type: 'custom'; atNs: bigint; name: string; payload?: unknown };
