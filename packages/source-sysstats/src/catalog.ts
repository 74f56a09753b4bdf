/**
 * What a backend (procfs on Linux, the `os` module elsewhere) offers: fields with units, and the groups of
 * files that feed them. A group is read as one unit; its counters are cumulative (turned into rates over a
 * window) and its gauges are instantaneous. Each field is one arithmetic op over its group's values.
 */
import type { RecordField } from '@senseflow/core';

export const OpKind = {
  /** `gauges[a] * scale` */
  gauge: 1,
  /** `(gauges[a] - gauges[b]) * scale` */
  gaugeDiff: 2,
  /** `Δcounters[a] / Δt(s) * scale` — NaN when the counter went backwards (reset). */
  rate: 3,
  /** `100 * Σ Δcounters[a + c] over c in mask / Σ Δcounters[a + 0..7]` — a /proc/stat-shaped CPU row. */
  cpuShare: 4,
} as const;

export interface FieldOp {
  kind: (typeof OpKind)[keyof typeof OpKind];
  a: number;
  b?: number;
  scale?: number;
  /** cpuShare: bit c set = column c counts as the numerator. */
  mask?: number;
}

export interface FieldDef extends RecordField {
  /** Key of the group that feeds it. */
  group: string;
  op: FieldOp;
}

/** An open group: refreshes its values in place. Must not throw for a lost object (write NaN instead). */
export interface GroupReader {
  refresh(counters: Float64Array, gauges: Float64Array): void;
  close(): void;
}

export interface GroupDef {
  key: string;
  counters: number;
  gauges: number;
  /** Never re-read more often than this (the source's own update granularity or cost). */
  minIntervalMs: number;
  open(onLost: (what: string, err: unknown) => void): GroupReader;
}

export interface Catalog {
  backend: 'procfs' | 'os';
  fields: FieldDef[];
  groups: Map<string, GroupDef>;
  /** Things the user should know (sensors absent, fallbacks taken). */
  notes: string[];
}
