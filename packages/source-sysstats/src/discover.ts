import type { RecordField } from '@senseflow/core';
import type { Catalog } from './catalog.js';
import { discoverLinux } from './linux-catalog.js';
import { discoverOs } from './os-catalog.js';
import { resolveSysStatsOptions, type ResolvedSysStatsOptions, type SysStatsOptions } from './options.js';
import { selectNames } from './select.js';

/** The backend's catalog for resolved options. */
export function discover(o: ResolvedSysStatsOptions): Catalog {
  return o.backend === 'procfs' ? discoverLinux(o) : discoverOs(o);
}

/** The field names the options select, in catalog order (throws naming `fields` when a pattern matches nothing). */
export function selectedFields(c: Catalog, o: ResolvedSysStatsOptions): string[] {
  return selectNames(
    'fields',
    c.fields.map((f) => f.name),
    o.fields,
  );
}

/**
 * The fields a sysstats source would produce on this machine with these options, with units — without
 * starting a worker. `options.fields` narrows the list exactly as it narrows the stream.
 *
 * @example
 * ```ts
 * for (const f of listSysStatFields({ fields: ['net.*'] })) console.log(f.name, f.unit);
 * ```
 */
export function listSysStatFields(options: SysStatsOptions = {}): RecordField[] {
  const o = resolveSysStatsOptions(options);
  const c = discover(o);
  const chosen = new Set(selectedFields(c, o));
  return c.fields.filter((f) => chosen.has(f.name)).map(({ name, unit, description }) => ({ name, unit, description }));
}
