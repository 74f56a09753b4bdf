/**
 * The shared worker pool for spectrum work (piscina). A live stream is one long async task that spends
 * nearly all its time in Atomics.waitAsync, so one worker serves many streams (concurrentTasksPerWorker);
 * a second thread is used only on machines with cores to spare.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

let pool: Piscina | undefined;

/** The pool, created on first use. */
export function spectrumPool(): Piscina {
  if (!pool) {
    const threads = Math.max(1, Math.min(2, availableParallelism() - 1));
    pool = new Piscina({
      filename: new URL('./spectrum-worker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: threads,
      concurrentTasksPerWorker: 64,
      idleTimeout: 2000,
    });
  }
  return pool;
}

/**
 * Ends the pool's threads (after every stream is closed). Optional: idle threads exit on their own after 2 s.
 *
 * @example
 * ```ts
 * await stream.close();
 * await closeSpectrumPool();
 * ```
 */
export async function closeSpectrumPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await p.destroy();
}
