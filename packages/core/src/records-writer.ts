/**
 * Writes whole records into a records stream's frame ring: one Float64 per field, sized from the spec, so a
 * plugin never counts bytes. Allocation-free per record (one Float64Array view per slot, made once).
 */
import { InvalidOptionError } from './errors.js';
import type { FrameRingWriter } from './ring/frame-ring.js';

export class RecordWriter {
  /** Field names, in record order. */
  readonly fields: readonly string[];
  private readonly index: ReadonlyMap<string, number>;
  private readonly views: Float64Array[] = [];

  constructor(
    private readonly frames: FrameRingWriter,
    fields: readonly string[],
    private readonly now: () => bigint,
  ) {
    this.fields = Object.freeze([...fields]);
    this.index = new Map(fields.map((f, i) => [f, i]));
    if (frames.capacity < fields.length * 8)
      throw new InvalidOptionError('fields', `at most ${Math.floor(frames.capacity / 8)} fields (the ring's record size)`, fields.length);
  }

  /**
   * Writes one record and returns its seq, or null when readers held every slot (counted as a `ringFull`
   * drop, never waited on). `values` is either one number per field in order (an array or Float64Array of
   * exactly `fields.length`), or an object by field name (fields left out are written as NaN: "not measured").
   * `captureNs` is when the values were measured (default: now).
   *
   * @example
   * ```ts
   * ctx.records.write([ax, ay, az]);                        // by position
   * ctx.records.write({ celsius: 21.5 }, measuredAtNs);     // by name
   * ```
   */
  write(values: ArrayLike<number> | Readonly<Record<string, number>>, captureNs: bigint = this.now()): bigint | null {
    const n = this.fields.length;
    const byPosition = typeof (values as ArrayLike<number>)?.length === 'number';
    if (byPosition && (values as ArrayLike<number>).length !== n)
      throw new InvalidOptionError('values', `${n} numbers (one per field: ${this.fields.join(', ')})`, `${(values as ArrayLike<number>).length} values`);
    if (!byPosition && (typeof values !== 'object' || values === null))
      throw new InvalidOptionError('values', `an array of ${n} numbers or an object with fields ${this.fields.join(', ')}`, values);
    if (!byPosition) {
      for (const key in values) {
        if (!this.index.has(key)) throw new InvalidOptionError('values', `fields among ${this.fields.join(', ')}`, key, { unknown: key });
      }
    }
    if (typeof captureNs !== 'bigint') throw new InvalidOptionError('captureNs', 'a bigint of CLOCK_MONOTONIC nanoseconds (ctx.clock.now())', captureNs);
    const slot = this.frames.begin();
    if (!slot) return null;
    const v = (this.views[slot.index] ??= new Float64Array(slot.data.buffer, slot.data.byteOffset, n));
    if (byPosition) {
      const a = values as ArrayLike<number>;
      for (let i = 0; i < n; i++) v[i] = a[i];
    } else {
      const o = values as Readonly<Record<string, number>>;
      for (let i = 0; i < n; i++) {
        const x = o[this.fields[i]];
        v[i] = x === undefined ? Number.NaN : x;
      }
    }
    return this.frames.commit(slot, n * 8, captureNs);
  }
}
