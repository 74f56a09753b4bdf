import { InvalidOptionError } from './errors.js';
import { FrameRingReader, type FrameReaderOptions } from './ring/frame-ring.js';
import { HEADER_BYTES, I32, RingKind } from './ring/layout.js';
import { SampleRingReader } from './ring/sample-ring.js';

/**
 * Attaches a reader to a ring from any thread that has its SharedArrayBuffer (`source.ring`, passed to a
 * worker in workerData). Returns a frame or sample reader depending on the ring's kind.
 *
 * @example
 * ```ts
 * // in a worker:  const reader = attachReader(workerData.ring);  const f = reader.latest();
 * ```
 */
export function attachReader(sab: SharedArrayBuffer, opts: FrameReaderOptions = {}): FrameRingReader | SampleRingReader {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < HEADER_BYTES) throw new InvalidOptionError('sab', 'a senseflow ring SharedArrayBuffer', sab);
  const kind = new Int32Array(sab, 0, HEADER_BYTES / 4)[I32.KIND];
  return kind === RingKind.sample ? new SampleRingReader(sab, opts) : new FrameRingReader(sab, opts);
}
