/**
 * The spectrum pool's task (a piscina worker module, built as dist/spectrum-worker.js). One task = one live
 * spectrum stream: it follows the source's ring with core's RingConsumer, then loops — compute every ready
 * hop, publish frames into the output frame ring, sleep until the next hop is due (its last sample's time at
 * the source's rate + `coalesceMs`), or wait on the ring when that clock does not hold (the waits are async,
 * so the worker keeps serving other streams' tasks meanwhile). No postMessage per frame:
 * only the task's start and end. It ends on STOP or when the source's ring closes.
 */
import { RingState } from '@senseflow/core';
import { fftEngine } from '../fft/select.js';
import { SpectrumComputer } from './computer.js';
import { CONTROL_BYTES, Ctl32, Ctl64 } from './layout.js';
import type { ResolvedSpectrumOptions } from './options.js';

/**
 * Longest timed sleep unless `coalesceMs` is longer: bounds how late the task notices that its source
 * closed (windows of 65536 frames at 48 kHz would otherwise sleep ~0.7 s between hops).
 */
const MAX_TIMED_SLEEP_MS = 250;

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
  const rate = task.options.rate;
  // A timed sleep that STOP cuts short: a wait on the STOP word with a timeout (one call, no JS timer, no
  // closure per sleep; Node's timer list and its callbacks were a fifth of this thread's time at ~12 wakes/s).
  const sleep = async (ms: number): Promise<void> => {
    const w = Atomics.waitAsync(ctl32, Ctl32.STOP, 0, ms);
    if (w.async) await w.value;
  };
  Atomics.store(ctl32, Ctl32.READY, 1);
  Atomics.notify(ctl32, Ctl32.READY);
  try {
    let timed = false; // the last wait was a timed sleep
    let sleptAt = 0;
    let sleptFrames = 0n;
    let fastUntil = 0;
    for (;;) {
      // A source that wrote much more than real time during a timed sleep (a replay, a backlog) is not
      // followed by the clock: for the next second its hops are polled like any fast stream (below).
      const now = performance.now();
      if (timed && Number(computer.framesWritten() - sleptFrames) > 1.5 * rate * ((now - sleptAt) / 1000) + task.options.hop) fastUntil = now + 1000;
      const t0 = process.hrtime.bigint();
      const published = computer.step();
      Atomics.add(ctl64, Ctl64.BUSY_NS, process.hrtime.bigint() - t0);
      if (stop.signal.aborted || Atomics.load(ctl32, Ctl32.STOP) !== 0) break;
      // Sleep until the next hop is due at the source's rate (plus coalesceMs), so one wake-up computes
      // every hop of the window — not one per source chunk, nor one per coalesceMs tick that finds
      // nothing new. Wait on the ring instead (a commit wakes it, batched by coalesceMs) per hop, when a
      // timed wake found nothing (the source is late or paused), for a fast source, or once it closed.
      const ms: number | null = (timed && published === 0) || now < fastUntil || computer.sourceClosed() ? null : computer.msUntilDue();
      timed = ms !== null;
      if (ms !== null) {
        sleptAt = performance.now();
        sleptFrames = computer.framesWritten();
        await sleep(Math.min(ms, Math.max(task.options.coalesceMs, MAX_TIMED_SLEEP_MS)));
        if (stop.signal.aborted || Atomics.load(ctl32, Ctl32.STOP) !== 0) break;
      } else if (!(await computer.input.wait())) break;
      Atomics.add(ctl64, Ctl64.WAKES, 1n);
    }
  } finally {
    computer.input.close();
    computer.output.setState(RingState.closed);
  }
  return { computed: Number(ctl64[Ctl64.COMPUTED]), lost: Number(ctl64[Ctl64.LOST]), engine: engine.name };
}
