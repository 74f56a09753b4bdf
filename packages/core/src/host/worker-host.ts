/**
 * Owns one source's worker: spawns it, speaks the control protocol, and supervises it. On a crash it
 * reports a typed event and, by policy, restarts the worker on the SAME ring, so readers keep their
 * cursors and the stream shows a gap (flagged DISCONTINUITY, counted under `restart`).
 */
import { Worker } from 'node:worker_threads';
import { Subject } from 'rxjs';
import type { Logger } from 'pino';
import { monotonicNs } from '../clock.js';
import type { SourceEvent, StreamSpec } from '../contract/v1/index.js';
import { CanceledError, InvalidStateError, TimeoutError, WorkerCrashedError, deserializeError, serializeError, type SerializedError } from '../errors.js';
import type { LogLevel } from '../log.js';
import type { ControlRequest, WorkerInit, WorkerMessage } from '../worker/protocol.js';
import type { SourceController } from '../source.js';

export type RestartPolicy = 'off' | 'on-crash';

export interface WorkerHostOptions {
  restart: RestartPolicy;
  /** Restarts allowed before giving up (per source lifetime). */
  maxRestarts: number;
  /** First backoff delay; doubles per consecutive crash up to 5 s. */
  restartDelayMs: number;
  /** How long a control request (open, start, stop, …) may take. */
  requestTimeoutMs: number;
  logLevel: LogLevel;
  log: Logger;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
/** A control request without its id (what a SourceController answers). */
export type ControlCall = ControlRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const ENTRY = new URL('./worker/entry.js', import.meta.url);

export class WorkerHost implements SourceController {
  readonly events = new Subject<SourceEvent>();
  spec!: StreamSpec;
  sab!: SharedArrayBuffer;
  definition = '';
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing = false;
  private restarts = 0;
  /** Whether the user wants the source running (restored after a restart). */
  wantRunning = false;

  constructor(
    private readonly specifier: string,
    private readonly options: unknown,
    private readonly o: WorkerHostOptions,
  ) {}

  /** Spawns the worker and waits until the plugin is open (spec known, ring allocated). */
  async open(): Promise<void> {
    await this.spawn(undefined, 0);
  }

  private spawn(sab: SharedArrayBuffer | undefined, restartAttempt: number): Promise<void> {
    const init: WorkerInit = { specifier: this.specifier, options: this.options, logLevel: this.o.logLevel, sab, restartAttempt };
    const worker = new Worker(ENTRY, { workerData: init, name: `senseflow:${this.specifier.split('/').pop()}` });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      // A worker that never opened is not supervised: it must not be restarted behind a rejected open.
      const failed = (e: Error) => {
        ready = true;
        clearTimeout(timer);
        if (this.worker === worker) this.worker = null;
        void worker.terminate();
        reject(e);
      };
      const timer = setTimeout(() => {
        if (!ready) failed(new TimeoutError(`source ${this.specifier} did not open within ${this.o.requestTimeoutMs} ms`, { specifier: this.specifier }));
      }, this.o.requestTimeoutMs);
      worker.on('message', (m: WorkerMessage) => {
        switch (m.t) {
          case 'ready':
            ready = true;
            clearTimeout(timer);
            this.spec = m.spec;
            this.sab = m.sab;
            this.definition = m.definition;
            resolve();
            break;
          case 'fail':
            failed(deserializeError(m.error));
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
        if (!ready) return failed(new WorkerCrashedError(`source worker failed while opening: ${err.message}`, { specifier: this.specifier }, { cause: err }));
        this.crashed(worker, err);
      });
      worker.on('exit', (code) => {
        if (!ready) return failed(new WorkerCrashedError(`source worker exited (code ${code}) while opening`, { specifier: this.specifier, code }));
        if (!this.closing && this.worker === worker) this.crashed(worker, new Error(`worker exited with code ${code}`));
      });
    });
  }

  private crashed(worker: Worker, err: Error): void {
    if (this.worker !== worker || this.closing) return;
    this.worker = null;
    void worker.terminate();
    this.failPending(new WorkerCrashedError(`source worker crashed: ${err.message}`, { specifier: this.specifier }, { cause: err }));
    const restarting = this.canRestart();
    const error: SerializedError = { name: 'WorkerCrashedError', code: 'EWORKER', message: err.message, stack: err.stack };
    this.o.log.error({ err }, 'source worker crashed%s', restarting ? '; restarting' : '');
    this.events.next({ type: 'crashed', atNs: monotonicNs(), error, restarting });
    if (restarting) this.scheduleRestart();
  }

  private canRestart(): boolean {
    return this.o.restart === 'on-crash' && this.restarts < this.o.maxRestarts && !this.closing;
  }

  /** Respawns on the same ring after a backoff; a failed reopen (device still gone) tries again. */
  private scheduleRestart(): void {
    const attempt = ++this.restarts;
    const delay = Math.min(5000, this.o.restartDelayMs * 2 ** (attempt - 1));
    setTimeout(() => {
      if (this.closing) return;
      this.spawn(this.sab, attempt)
        .then(async () => {
          if (this.wantRunning) await this.request({ t: 'start' });
          this.events.next({ type: 'restarted', atNs: monotonicNs(), attempt });
        })
        .catch((e: Error) => {
          this.o.log.warn({ err: e, attempt }, 'restart failed');
          this.events.next({ type: 'error', atNs: monotonicNs(), error: serializeError(e) });
          if (this.worker) this.crashed(this.worker, e);
          else if (this.canRestart()) this.scheduleRestart();
        });
    }, delay).unref();
  }

  private failPending(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  /** Sends one control request and waits for its reply. */
  request(call: ControlCall, timeoutMs = this.o.requestTimeoutMs): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new InvalidStateError('the source worker is not running (crashed or closed)'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`'${call.t}' got no answer from the source worker within ${timeoutMs} ms`, { request: call.t }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ ...call, id } as ControlRequest);
    });
  }

  /**
   * Closes the plugin (stop, close) and ends the worker. Graceful first; after `timeoutMs` (or with
   * `force`) the worker is terminated, which also runs the addons' cleanup hooks that close devices.
   */
  async close({ force = false, timeoutMs = 5000 }: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const worker = this.worker;
    this.worker = null;
    if (worker && !force) {
      this.worker = worker;
      try {
        await this.request({ t: 'close' }, timeoutMs);
      } catch (e) {
        this.o.log.warn({ err: e }, 'graceful close failed; terminating the worker');
      }
      this.worker = null;
    }
    this.failPending(new CanceledError('source closed'));
    if (worker) await worker.terminate();
    this.events.complete();
  }
}
