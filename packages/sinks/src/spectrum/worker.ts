/**
 * The spectrum pool's task (a piscina worker module, built as dist/spectrum-worker.js). One task = one live
 * spectrum stream: it attaches to the source's ring, then loops — compute every ready hop, publish frames
 * into the output frame ring, sleep on the source ring's NOTIFY word (Atomics.waitAsync, so the worker
 * keeps serving other streams' tasks meanwhile). No postMessage per frame: only the task's start and end.
 */
import { I32, RingState } from '@senseflow/core';
import { fftEngine } from '../fft/select.js';
import { SpectrumComputer } from './computer.js';
import { CONTROL_BYTES, Ctl32, Ctl64 } from './layout.js';
import type { ResolvedSpectrumOptions } from './options.js';

export interface SpectrumTask {
  ring: SharedArrayBuffer;
  out: SharedArrayBuffer;
  control: SharedArrayBuffer;
  options: ResolvedSpectrumOptions;
}

export interface SpectrumTaskResult {
  computed: number;
  lost: number;
  engine: string;
}

/** How long one wait may last before the loop re-checks STOP on its own (a stop also wakes it at once). */
const WAIT_MS = 1000;

export default async function runSpectrumTask(task: SpectrumTask): Promise<SpectrumTaskResult> {
  const ctl32 = new Int32Array(task.control, 0, 8);
  const ctl64 = new BigInt64Array(task.control, 0, CONTROL_BYTES / 8);
  const engine = fftEngine({ engine: task.options.engine });
  const computer = new SpectrumComputer(task.ring, task.out, task.control, task.options, engine);
  const notify = new Int32Array(task.ring, 0, 64);
  Atomics.store(ctl32, Ctl32.READY, 1);
  Atomics.notify(ctl32, Ctl32.READY);
  try {
    while (Atomics.load(ctl32, Ctl32.STOP) === 0) {
      const seen = Atomics.load(notify, I32.NOTIFY);
      const t0 = process.hrtime.bigint();
      const published = computer.step();
      Atomics.add(ctl64, Ctl64.BUSY_NS, process.hrtime.bigint() - t0);
      const state = Atomics.load(notify, I32.STATE);
      if (state === RingState.closed || state === RingState.error) break;
      if (published && task.options.coalesceMs > 0) {
        // Let more hops complete before the next pass (a stop wakes this wait at once).
        const c = Atomics.waitAsync(ctl32, Ctl32.STOP, 0, task.options.coalesceMs);
        if (c.async) await c.value;
        Atomics.add(ctl64, Ctl64.WAKES, 1n);
        continue;
      }
      // Sleep until the source commits more samples (or a stop wakes us); spurious wakes just re-check.
      const w = Atomics.waitAsync(notify, I32.NOTIFY, seen, WAIT_MS);
      if (w.async) await w.value;
      Atomics.add(ctl64, Ctl64.WAKES, 1n);
    }
  } finally {
    computer.output.setState(RingState.closed);
  }
  return { computed: Number(ctl64[Ctl64.COMPUTED]), lost: Number(ctl64[Ctl64.LOST]), engine: engine.name };
}
