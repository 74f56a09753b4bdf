/**
 * The spectrum pool's task (a piscina worker module, built as dist/spectrum-worker.js). One task = one live
 * spectrum stream: it follows the source's ring with core's RingConsumer, then loops — compute every ready
 * hop, publish frames into the output frame ring, wait for the next batch (batched by `coalesceMs`; the
 * wait is async, so the worker keeps serving other streams' tasks meanwhile). No postMessage per frame:
 * only the task's start and end. It ends on STOP or when the source's ring closes.
 */
import { RingState } from '@senseflow/core';
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

export default async function runSpectrumTask(task: SpectrumTask): Promise<SpectrumTaskResult> {
  const ctl32 = new Int32Array(task.control, 0, 8);
  const ctl64 = new BigInt64Array(task.control, 0, CONTROL_BYTES / 8);
  const engine = fftEngine({ engine: task.options.engine });
  // STOP (set and notified by the main thread) aborts the consumer, which ends a pending wait at once.
  const stop = new AbortController();
  const s = Atomics.waitAsync(ctl32, Ctl32.STOP, 0);
  if (s.async) void s.value.then(() => stop.abort());
  else stop.abort();
  const computer = new SpectrumComputer(task.ring, task.out, task.control, task.options, engine, stop.signal);
  Atomics.store(ctl32, Ctl32.READY, 1);
  Atomics.notify(ctl32, Ctl32.READY);
  try {
    for (;;) {
      const t0 = process.hrtime.bigint();
      computer.step();
      Atomics.add(ctl64, Ctl64.BUSY_NS, process.hrtime.bigint() - t0);
      if (Atomics.load(ctl32, Ctl32.STOP) !== 0 || !(await computer.input.wait())) break;
      Atomics.add(ctl64, Ctl64.WAKES, 1n);
    }
  } finally {
    computer.input.close();
    computer.output.setState(RingState.closed);
  }
  return { computed: Number(ctl64[Ctl64.COMPUTED]), lost: Number(ctl64[Ctl64.LOST]), engine: engine.name };
}
