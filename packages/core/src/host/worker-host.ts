/**
 * Owns one source's worker: spawns it, speaks the control protocol, and supervises it. A worker that
 * crashes, exits, reports a capture failure (`ctx.error`) or hangs (its heartbeat stops for the watchdog
 * window) is reported with a typed event, ended, and, by policy, restarted on the SAME ring, so readers keep
 * their cursors and the stream shows a gap (flagged DISCONTINUITY, its items counted under `restart`).
 * Past the restart limit the source is in the error state (`failure`, a `failed` event) for good.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Subject } from 'rxjs';
import type { Logger } from 'pino';
import { monotonicNs } from '../clock.js';
import type { CrashReason, SourceEvent, StreamSpec } from '../contract/v1/index.js';
import { CanceledError, InvalidStateError, TimeoutError, WorkerCrashedError, deserializeError, serializeError, type SerializedError } from '../errors.js';
import type { LogLevel } from '../log.js';
import { FrameRingReader } from '../ring/frame-ring.js';
import { HEADER_BYTES, WriterDropCause } from '../ring/layout.js';
import { SampleRingReader } from '../ring/sample-ring.js';
import { HEARTBEAT_MS, Mailbox, type ControlCall, type ControlRequest, type GoMessage, type WorkerInit, type WorkerMessage } from '../worker/protocol.js';
import { itemRate } from '../worker/restart-loss.js';
import type { SourceController } from '../source.js';

export type RestartPolicy = 'off' | 'on-crash';
export const RESTART_POLICIES: readonly RestartPolicy[] = ['off', 'on-crash'];

export interface WorkerHostOptions {
  restart: RestartPolicy;
  /** Restarts allowed before giving up (per source lifetime). */
  maxRestarts: number;
  /** First backoff delay; doubles per consecutive crash up to 5 s. */
  restartDelayMs: number;
  /** How long a control request (open, start, stop, …) may take. */
  requestTimeoutMs: number;
  /** How long the worker's heartbeat may stop before it counts as hung. Default: max(1 s, 5 item periods). */
  watchdogMs?: number;
  logLevel: LogLevel;
  log: Logger;
}

type Pending = { call: ControlCall['t']; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

const ENTRY = new URL('./worker/entry.js', import.meta.url);
/** Requests that may legitimately block the worker a while (opening a stream on a slow camera). */
const SLOW_REQUEST_GRACE_MS = 5000;

/** The watchdog window for a spec: max(1 s, 5 item periods). */
export function defaultWatchdogMs(spec: StreamSpec): number {
  const periodMs = spec.kind === 'audio' ? (1000 * Math.max(1, spec.periodFrames || 1)) / spec.rate : 1000 / itemRate(spec);
  return Math.max(1000, Math.ceil(5 * periodMs));
}

/** One running worker and what the watchdog knows of it. */
interface Live {
  worker: Worker;
  beat: Int32Array;
  /** {@link Mailbox} words shared with the worker. */
  mailbox: Int32Array;
  lastBeat: number;
  lastBeatNs: bigint;
  /** The worker's event-loop utilization at the last beat: how much of the silence since was spent idle. */
  eluAtBeat: EventLoopUtilization | null;
  lastCheckNs: bigint;
  ready: boolean;
  /** A replacement still waiting for `go` (it has not touched the device or the ring). */
  gated: boolean;
}

/** Posts to the worker, counted in its mailbox first (so a long native call in the worker sees it waiting). */
function post(live: Live, m: ControlRequest | GoMessage): void {
  Atomics.add(live.mailbox, Mailbox.POSTED, 1);
  live.worker.postMessage(m);
}

export class WorkerHost implements SourceController {
  readonly events = new Subject<SourceEvent>();
  spec!: StreamSpec;
  sab!: SharedArrayBuffer;
  definition = '';
  /** Set once the source is past its restart limit (or crashed with restart off): the error state. */
  failure: SerializedError | null = null;
  private live: Live | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing: Promise<void> | null = null;
  private restarts = 0;
  private watchdog: NodeJS.Timeout | null = null;
  /** While failed and wanted running: where loss accounting started (capture time due next, drops then). */
  private failedLoss: { dueNs: bigint; base: bigint } | null = null;
  /** Whether the user wants the source running (restored after a restart). */
  wantRunning = false;

  constructor(
    private readonly specifier: string,
    private readonly options: unknown,
    private readonly o: WorkerHostOptions,
  ) {}

  private get worker(): Worker | null {
    return this.live?.worker ?? null;
  }

  /** Spawns the worker and waits until the plugin is open (spec known, ring allocated). */
  async open(): Promise<void> {
    await this.spawn(undefined, 0, null);
    this.watchdog = setInterval(() => this.check(), HEARTBEAT_MS);
    this.watchdog.unref();
  }

  /**
   * Starts a worker and resolves once its plugin is open. With `gate`, the worker loads its plugin at once
   * but describes and opens it (device, ring) only after `gate` resolves: a replacement is spawned while
   * the worker it replaces is still being ended, so loading it costs no time after that end.
   */
  private spawn(sab: SharedArrayBuffer | undefined, restartAttempt: number, gate: Promise<unknown> | null): Promise<void> {
    const heartbeat = new SharedArrayBuffer(4);
    const mailbox = new SharedArrayBuffer(8);
    const init: WorkerInit = {
      specifier: this.specifier,
      options: this.options,
      logLevel: this.o.logLevel,
      sab,
      restartAttempt,
      resumeRunning: this.wantRunning,
      heartbeat,
      mailbox,
      gated: gate !== null,
    };
    const worker = new Worker(ENTRY, { workerData: init, name: `senseflow:${this.specifier.split('/').pop()}` });
    const now = monotonicNs();
    const live: Live = { worker, beat: new Int32Array(heartbeat), mailbox: new Int32Array(mailbox), lastBeat: 0, lastBeatNs: now, eluAtBeat: null, lastCheckNs: now, ready: false, gated: gate !== null };
    this.live = live;
    void gate?.then(() => {
      if (this.live !== live || this.closing) return;
      live.gated = false;
      post(live, { t: 'go' } satisfies GoMessage);
    });
    return new Promise<void>((resolve, reject) => {
      // A worker that never opened is not supervised: it must not be restarted behind a rejected open.
      const failed = (e: Error) => {
        if (live.ready) return;
        live.ready = true;
        clearTimeout(timer);
        if (this.live === live) this.live = null;
        void worker.terminate();
        reject(e);
      };
      const timer = setTimeout(() => {
        failed(new TimeoutError(`source ${this.specifier} did not open within ${this.o.requestTimeoutMs} ms`, { specifier: this.specifier }));
      }, this.o.requestTimeoutMs);
      worker.on('message', (m: WorkerMessage) => {
        switch (m.t) {
          case 'ready':
            live.ready = true;
            live.lastBeatNs = monotonicNs();
            live.eluAtBeat = worker.performance.eventLoopUtilization();
            clearTimeout(timer);
            this.spec = m.spec;
            this.sab = m.sab;
            this.definition = m.definition;
            resolve();
            break;
          case 'fail':
            failed(deserializeError(m.error));
            break;
          case 'failed':
            this.crashed(live, 'failed', deserializeError(m.error));
            break;
          case 'reply': {
            const p = this.pending.get(m.id);
            if (!p) break;
            this.pending.delete(m.id);
            clearTimeout(p.timer);
            if (m.ok) p.resolve(m.value);
            else p.reject(deserializeError(m.error));
            break;
          }
          case 'event':
            this.events.next(m.event);
            break;
        }
      });
      worker.on('error', (err) => {
        if (!live.ready) return failed(new WorkerCrashedError(`source worker failed while opening: ${err.message}`, { specifier: this.specifier }, { cause: err }));
        this.crashed(live, 'uncaught', err);
      });
      worker.on('exit', (code) => {
        if (!live.ready) return failed(new WorkerCrashedError(`source worker exited (code ${code}) while opening`, { specifier: this.specifier, code }));
        this.crashed(live, 'exited', new Error(`worker exited with code ${code}`));
      });
    });
  }

  /** The watchdog tick: a live worker whose heartbeat stopped for the window is hung; a failed source counts its loss. */
  private check(): void {
    const now = monotonicNs();
    this.countFailedLoss(now);
    const live = this.live;
    if (!live || !live.ready) return;
    const beat = Atomics.load(live.beat, 0);
    const sinceCheckMs = Number(now - live.lastCheckNs) / 1e6;
    live.lastCheckNs = now;
    // Judge only what we watched: if this thread itself was stalled, start the window again.
    if (beat !== live.lastBeat || sinceCheckMs > 4 * HEARTBEAT_MS) {
      live.lastBeat = beat;
      live.lastBeatNs = now;
      live.eluAtBeat = live.worker.performance.eventLoopUtilization();
      return;
    }
    const window = this.watchdogMs();
    const silentMs = Number(now - live.lastBeatNs) / 1e6;
    if (silentMs < window) return;
    // A hung loop is busy (or blocked in a call): its idle time stands still. A loop that sat idle for much
    // of the silence was not hung but not scheduled (an overloaded machine): watch it again from here.
    const elu = live.eluAtBeat ? live.worker.performance.eventLoopUtilization(live.eluAtBeat) : null;
    if (elu && elu.idle > silentMs / 2) {
      this.o.log.warn({ silentMs: Math.round(silentMs), idleMs: Math.round(elu.idle) }, 'source worker starved of CPU (idle, not hung)');
      live.lastBeatNs = now;
      live.eluAtBeat = live.worker.performance.eventLoopUtilization();
      return;
    }
    this.crashed(live, 'hung', new Error(`the worker's event loop has not turned for ${Math.round(silentMs)} ms (watchdog: ${window} ms)`));
  }

  private watchdogMs(): number {
    const base = this.o.watchdogMs ?? defaultWatchdogMs(this.spec);
    // A start or control call may block the worker a while on a slow device; stop and close never get longer.
    for (const p of this.pending.values()) if (p.call !== 'stop' && p.call !== 'close') return Math.max(base, SLOW_REQUEST_GRACE_MS);
    return base;
  }

  private crashed(live: Live, reason: CrashReason, err: Error): void {
    if (this.live !== live) return;
    this.live = null;
    const gone = live.worker.terminate();
    // A hung or failed worker asked to stop or close has done so: those requests succeed, the rest fail.
    this.settlePending(new WorkerCrashedError(`source worker ${reason === 'hung' ? 'hung' : 'crashed'}: ${err.message}`, { specifier: this.specifier, reason }, { cause: err }));
    if (this.closing) return;
    const restarting = this.canRestart();
    // ctx.error keeps the plugin's own typed error; the host's own findings are WorkerCrashedError.
    const error: SerializedError = reason === 'failed' ? serializeError(err) : { ...serializeError(err), name: 'WorkerCrashedError', code: 'EWORKER' };
    this.o.log.error({ err, reason }, 'source worker crashed (%s)%s', reason, restarting ? '; restarting' : '');
    this.events.next({ type: 'crashed', atNs: monotonicNs(), error, restarting, reason });
    if (restarting) this.scheduleRestart(gone);
    else this.fail(error);
  }

  private canRestart(): boolean {
    return this.o.restart === 'on-crash' && this.restarts < this.o.maxRestarts && !this.closing;
  }

  /**
   * Respawns on the same ring: the new worker starts (and loads its plugin) at once, and opens the plugin
   * once the old worker has exited (so there is never a second writer, nor two device owners) and the
   * backoff has passed. A failed reopen tries again.
   */
  private scheduleRestart(gone: Promise<unknown>): void {
    const attempt = ++this.restarts;
    const delay = Math.min(5000, this.o.restartDelayMs * 2 ** (attempt - 1));
    const go = Promise.all([gone, new Promise((r) => setTimeout(r, delay).unref())]);
    const relaunch = async () => {
      if (this.closing) return;
      let spawned: Live | null = null;
      try {
        await this.spawn(this.sab, attempt, go);
        spawned = this.live;
        if (this.wantRunning) await this.request({ t: 'start' });
        this.events.next({ type: 'restarted', atNs: monotonicNs(), attempt });
      } catch (e) {
        if (this.closing) return;
        // The new worker opened but failed to start: a crash like any other (if nothing reported it yet).
        if (spawned) {
          if (this.live === spawned) this.crashed(spawned, 'failed', e as Error);
          return;
        }
        this.o.log.warn({ err: e, attempt }, 'restart failed');
        this.events.next({ type: 'error', atNs: monotonicNs(), error: serializeError(e) });
        if (this.canRestart()) this.scheduleRestart(Promise.resolve());
        else this.fail({ ...serializeError(e), name: 'WorkerCrashedError', code: 'EWORKER' });
      }
    };
    void relaunch();
  }

  /** Enters the error state: reported once, and from now on the items that go missing are counted. */
  private fail(error: SerializedError): void {
    if (this.failure) return;
    this.failure = error;
    this.o.log.error({ restarts: this.restarts }, 'source failed for good: %s', error.message);
    if (this.wantRunning) this.failedLoss = { dueNs: this.lastItemDueNs() ?? monotonicNs(), base: this.restartDrops().value };
    this.events.next({ type: 'failed', atNs: monotonicNs(), error, restarts: this.restarts });
  }

  /** Capture time at which the item after the newest one in the ring was due (null before the first item). */
  private lastItemDueNs(): bigint | null {
    const rate = itemRate(this.spec);
    if (this.spec.kind === 'audio') {
      const last = new SampleRingReader(this.sab).latest();
      return last ? last.captureNs + BigInt(Math.round((last.frames * 1e9) / rate)) : null;
    }
    const r = new FrameRingReader(this.sab);
    const last = r.latest();
    const due = last ? last.captureNs + BigInt(Math.round(1e9 / rate)) : null;
    r.release();
    return due;
  }

  private restartDrops(): { i64: BigInt64Array; value: bigint } {
    const i64 = new BigInt64Array(this.sab, 0, HEADER_BYTES / 8);
    return { i64, value: Atomics.load(i64, WriterDropCause.restart) };
  }

  /** A failed source still wanted running loses items at its rate: count them (no writer is left to race). */
  private countFailedLoss(now: bigint): void {
    const f = this.failedLoss;
    if (!f || !this.wantRunning || now < f.dueNs) return;
    const lost = BigInt(Math.floor((Number(now - f.dueNs) * itemRate(this.spec)) / 1e9));
    Atomics.store(this.restartDrops().i64, WriterDropCause.restart, f.base + lost);
  }

  /** Ends every pending request: a stop or close is done (the worker is gone), anything else failed. */
  private settlePending(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      if (p.call === 'stop' || p.call === 'close') p.resolve(undefined);
      else p.reject(err);
      this.pending.delete(id);
    }
  }

  /** Sends one control request and waits for its reply. */
  request(call: ControlCall, timeoutMs = this.o.requestTimeoutMs): Promise<unknown> {
    const live = this.live;
    if (!live) {
      if (this.failure)
        return Promise.reject(new InvalidStateError(`the source is in the error state: ${this.failure.message}`, { failure: this.failure }));
      return Promise.reject(new InvalidStateError('the source worker is not running (crashed or closed)'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`'${call.t}' got no answer from the source worker within ${timeoutMs} ms`, { request: call.t }));
      }, timeoutMs);
      this.pending.set(id, { call: call.t, resolve, reject, timer });
      post(live, { ...call, id } as ControlRequest);
    });
  }

  /**
   * Closes the plugin (stop, close) and ends the worker. Graceful first; after `timeoutMs`, at once with
   * `force`, or as soon as the watchdog finds the worker hung, the worker is terminated, which also runs the
   * addons' cleanup hooks that close devices. Every caller gets the same promise.
   */
  close({ force = false, timeoutMs = 5000 }: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.teardown(force, timeoutMs);
    return this.closing;
  }

  private async teardown(force: boolean, timeoutMs: number): Promise<void> {
    this.failedLoss = null;
    const live = this.live;
    // A replacement still waiting for `go` has opened nothing: it is ended without a graceful close.
    if (live && !force && !live.gated) {
      try {
        await this.request({ t: 'close' }, timeoutMs);
      } catch (e) {
        this.o.log.warn({ err: e }, 'graceful close failed; terminating the worker');
      }
    }
    if (this.watchdog) clearInterval(this.watchdog);
    this.live = null;
    this.settlePending(new CanceledError('source closed'));
    if (live) await live.worker.terminate();
    this.events.complete();
  }
}
