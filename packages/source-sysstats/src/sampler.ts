import { performance } from 'node:perf_hooks';
import { InvalidOptionError, InvalidStateError, type RecordField } from '@senseflow/core';
import { OpKind, type Catalog, type GroupDef, type GroupReader } from './catalog.js';

export interface SamplerTiming {
  /** Records per second (sets the read interval floor and the rate window floor). */
  hz: number;
  /** Rates (CPU %, bytes/s) are averaged over at least this many ms. */
  windowMs: number;
  /** A file is re-read at most this often (ms); records in between repeat its newest values. */
  readIntervalMs: number;
}

/** Time before the first record so every rate has a real delta behind it (≥ 2 CPU ticks, ≤ 100 ms). */
export function primeDelayMs(windowMs: number): number {
  return Math.min(100, Math.max(20, windowMs));
}

const CPU_COLUMNS = 8;

/** One group at run time: its reader, values, the history ring its rates are computed over, and its ops. */
class GroupState {
  readonly counters: Float64Array;
  readonly gauges: Float64Array;
  /** (lag + 1) snapshots of the counters, and their read times (ms). */
  private readonly hist: Float64Array;
  private readonly histT: Float64Array;
  private readonly lag: number;
  private reads = 0;
  // Ops as parallel typed arrays: a monomorphic loop with no objects touched per record.
  private readonly kind: Int32Array;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly mask: Int32Array;
  private readonly scale: Float64Array;
  private readonly outIdx: Int32Array;
  private readonly nOps: number;

  constructor(
    readonly def: GroupDef,
    readonly reader: GroupReader,
    readonly intervalMs: number,
    windowMs: number,
    ops: Array<{ out: number; kind: number; a: number; b: number; mask: number; scale: number }>,
  ) {
    this.counters = new Float64Array(def.counters).fill(NaN);
    this.gauges = new Float64Array(def.gauges).fill(NaN);
    this.lag = Math.max(1, Math.round(Math.max(windowMs, intervalMs) / intervalMs));
    this.hist = new Float64Array((this.lag + 1) * def.counters);
    this.histT = new Float64Array(this.lag + 1);
    this.kind = Int32Array.from(ops, (o) => o.kind);
    this.a = Int32Array.from(ops, (o) => o.a);
    this.b = Int32Array.from(ops, (o) => o.b);
    this.mask = Int32Array.from(ops, (o) => o.mask);
    this.scale = Float64Array.from(ops, (o) => o.scale);
    this.outIdx = Int32Array.from(ops, (o) => o.out);
    this.nOps = ops.length;
  }

  get hasCounters(): boolean {
    return this.def.counters > 0;
  }

  /** Reads the baseline: the first record's rates are deltas from here. */
  prime(): void {
    this.reads = 0;
    this.reader.refresh(this.counters, this.gauges);
  }

  /** Re-reads the group's files into its counters and gauges. */
  read(): void {
    this.reader.refresh(this.counters, this.gauges);
  }

  /**
   * Records the read that just happened (at `time[0]` ms — a Float64Array cell, since a double argument
   * would be boxed per call) and computes this group's fields into `last`.
   */
  commit(time: Float64Array, last: Float64Array): void {
    const tMs = time[0];
    const C = this.def.counters;
    const slots = this.lag + 1;
    const cur = this.reads % slots;
    if (C > 0) this.hist.set(this.counters, cur * C);
    this.histT[cur] = tMs;
    const first = this.reads === 0;
    this.reads++;
    if (first) return; // the prime read: a baseline, nothing to emit yet
    // Baseline: the snapshot `lag` reads ago, or the oldest one kept (the prime read) early on.
    const back = this.reads - 1 >= this.lag ? this.lag : this.reads - 1;
    const baseSlot = (cur - back + slots) % slots;
    const h = this.hist;
    const hb = baseSlot * C;
    const dtS = (tMs - this.histT[baseSlot]) / 1000;
    const c = this.counters;
    const g = this.gauges;
    // Each branch stores straight into `last`: a value merged across branches would be boxed by V8.
    for (let i = 0; i < this.nOps; i++) {
      const a = this.a[i];
      const o = this.outIdx[i];
      switch (this.kind[i]) {
        case OpKind.gauge:
          last[o] = g[a] * this.scale[i];
          break;
        case OpKind.gaugeDiff:
          last[o] = (g[a] - g[this.b[i]]) * this.scale[i];
          break;
        case OpKind.rate: {
          const d = c[a] - h[hb + a];
          last[o] = d < 0 || !(dtS > 0) ? NaN : (d / dtS) * this.scale[i];
          break;
        }
        default: {
          // cpuShare: shares of the elapsed ticks. No tick elapsed = no new information: keep the last value.
          const m = this.mask[i];
          let total = 0;
          let part = 0;
          for (let k = 0; k < CPU_COLUMNS; k++) {
            const d = c[a + k] - h[hb + a + k];
            total += d;
            if (m & (1 << k)) part += d;
          }
          if (total !== 0) last[o] = total > 0 && part >= 0 ? (100 * part) / total : NaN;
        }
      }
    }
  }
}

export interface SamplerOptions extends SamplerTiming {
  /** Monotonic milliseconds (tests inject a scripted clock). Default `performance.now`. */
  now?: () => number;
  /** Called once per lost object (a PID that exited, a sensor that failed). */
  onLost?: (what: string, err: unknown) => void;
}

/**
 * Reads the selected fields' files and writes one record (a Float64 per field, spec order) per
 * {@link SysStatsSampler.sample} call, in place and without allocating. Use it directly to sample in your own
 * loop; `openSysStats()` runs it in a worker and paces it.
 *
 * @example
 * ```ts
 * const catalog = discoverLinux(resolveOptions({}));
 * const s = new SysStatsSampler(catalog, ['cpu', 'mem.used'], { hz: 10, windowMs: 100, readIntervalMs: 10 });
 * s.prime();
 * await sleep(s.primeMs);
 * const rec = new Float64Array(s.fields.length);
 * s.sample(rec); // rec[0] = CPU busy %, rec[1] = used bytes
 * ```
 */
export class SysStatsSampler {
  readonly fields: RecordField[];
  /** Wait this long after {@link prime} before the first {@link sample} (0 when no field is a rate). */
  readonly primeMs: number;
  private readonly groups: GroupState[];
  private readonly last: Float64Array;
  private readonly now: () => number;
  private readonly time = new Float64Array(1);
  private readonly periodMs: number;
  private firstSample = true;
  private closed = false;
  /** Per group: when it is next due, and its read interval (typed arrays: plain double fields would box). */
  private readonly dueMs: Float64Array;
  private readonly intervalMs: Float64Array;

  constructor(catalog: Catalog, names: readonly string[], opts: SamplerOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.periodMs = 1000 / opts.hz;
    const byName = new Map(catalog.fields.map((f) => [f.name, f]));
    const opsByGroup = new Map<string, Array<{ out: number; kind: number; a: number; b: number; mask: number; scale: number }>>();
    this.fields = names.map((name, out) => {
      const f = byName.get(name);
      if (!f) throw new InvalidOptionError('names', `field names of this catalog (${[...byName.keys()].join(', ')})`, name);
      let ops = opsByGroup.get(f.group);
      if (!ops) opsByGroup.set(f.group, (ops = []));
      ops.push({ out, kind: f.op.kind, a: f.op.a, b: f.op.b ?? -1, mask: f.op.mask ?? 0, scale: f.op.scale ?? 1 });
      return { name: f.name, unit: f.unit, description: f.description };
    });
    this.last = new Float64Array(names.length).fill(NaN);
    const onLost = opts.onLost ?? (() => {});
    this.groups = [];
    try {
      for (const [key, ops] of opsByGroup) {
        const def = catalog.groups.get(key);
        if (!def) throw new InvalidStateError(`catalog has no group '${key}' (a field names a group it does not define)`);
        const interval = Math.max(this.periodMs, opts.readIntervalMs, def.minIntervalMs);
        this.groups.push(new GroupState(def, def.open(onLost), interval, opts.windowMs, ops));
      }
    } catch (e) {
      for (const g of this.groups) g.reader.close();
      throw e;
    }
    this.primeMs = this.groups.some((g) => g.hasCounters) ? primeDelayMs(opts.windowMs) : 0;
    this.dueMs = new Float64Array(this.groups.length);
    this.intervalMs = Float64Array.from(this.groups, (g) => g.intervalMs);
  }

  /** Reads every group's baseline. Call before the first sample and again after a pause. */
  prime(): void {
    for (const g of this.groups) g.prime();
    this.time[0] = this.now();
    for (const g of this.groups) g.commit(this.time, this.last);
    this.firstSample = true;
  }

  /**
   * Re-reads the groups that are due, computes their fields, and writes the whole record into `out`
   * (length ≥ fields.length). The first call after {@link prime} reads every group.
   */
  sample(out: Float64Array): void {
    if (this.closed) throw new InvalidStateError('sample() after close()');
    // One clock reading per record, taken before the reads: every rate's window is measured between read
    // starts, so the few µs the reads take cancel out.
    const t = this.now();
    this.time[0] = t;
    const groups = this.groups;
    const due = this.dueMs;
    const slack = this.periodMs / 2; // records jitter around their deadlines
    const first = this.firstSample;
    for (let i = 0; i < groups.length; i++) {
      if (first || t + slack >= due[i]) {
        groups[i].read();
        groups[i].commit(this.time, this.last);
        // Stagger groups that read less often than every record, so their costs do not pile up on one record.
        const interval = this.intervalMs[i];
        const phase = first && interval > this.periodMs ? (i * this.periodMs) % interval : 0;
        due[i] = t + interval - phase;
      }
    }
    this.firstSample = false;
    out.set(this.last);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const g of this.groups) g.reader.close();
  }
}
