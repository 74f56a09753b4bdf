/**
 * The main-thread side of a server that runs in its own worker (`serve()`'s network server and
 * `serveFoxglove()`): spawning the worker and waiting until it listens, queries the worker answers, and one
 * close() for every caller. The worker speaks `listening`/`failed` first, then `answer` to `query`.
 */
import { Worker } from 'node:worker_threads';
import type { Subscription } from 'rxjs';
import { deserializeError, InvalidStateError, type SerializedError } from '@senseflow/core';

type Reply = { t: 'listening'; host: string; port: number } | { t: 'failed'; error: SerializedError } | { t: 'answer'; id: number; value: unknown } | { t: 'closed' };

/** bigint → string, so stats and events cross the worker boundary as plain JSON-safe data. */
export const plain = (v: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) as Record<string, unknown>;

/** Starts `file` as a worker and resolves with its `listening` message; a `failed` one rejects with its error. */
export async function startServerWorker<L extends { t: 'listening' }>(file: URL, workerData: unknown, name: string): Promise<{ worker: Worker; listening: L }> {
  const worker = new Worker(file, { workerData, name: `senseflow:${name}` });
  const first = await new Promise<Reply | L>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new InvalidStateError(`the ${name} worker exited (${code}) before listening`)));
  });
  if (first.t === 'failed') {
    await new Promise((r) => worker.once('exit', r));
    throw deserializeError(first.error);
  }
  if (first.t !== 'listening') throw new InvalidStateError(`unexpected message from the ${name} worker: ${first.t}`);
  return { worker, listening: first as L };
}

/** A running server whose sockets live in `worker`. */
export abstract class WorkerServer<Q extends string> implements AsyncDisposable {
  private readonly pending = new Map<number, (v: unknown) => void>();
  private nextQuery = 1;
  /** Subscriptions that feed the worker (closed first on close()). */
  protected readonly subs: Subscription[] = [];
  private closing: Promise<void> | null = null;
  private readonly exited: Promise<void>;

  protected constructor(
    protected readonly worker: Worker,
    /** Names the server in errors ("the server is closed"). */
    private readonly label: string,
  ) {
    this.exited = new Promise((r) => worker.once('exit', () => r()));
    worker.on('message', (m: Reply) => {
      if (m.t === 'answer') {
        this.pending.get(m.id)?.(m.value);
        this.pending.delete(m.id);
      }
    });
  }

  /** Closes every connection, the listener and the worker. The sources stay open (they are the caller's). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.subs) s.unsubscribe();
      this.send({ t: 'close' });
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      await this.worker.terminate();
      for (const done of this.pending.values()) done(undefined);
      this.pending.clear();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected query(what: Q): Promise<unknown> {
    if (this.closing) return Promise.reject(new InvalidStateError(`${this.label} is closed`));
    const id = this.nextQuery++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ t: 'query', id, what });
    });
  }

  /** Posts to the worker; after close() only the close itself goes. */
  protected send(m: { t: string; [field: string]: unknown }): void {
    if (!this.closing || m.t === 'close') this.worker.postMessage(m);
  }
}
