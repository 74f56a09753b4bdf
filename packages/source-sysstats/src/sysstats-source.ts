/**
 * The `sysstats` source (runs in its worker): CPU, memory, load, processes, network and disk rates,
 * temperatures and cgroup usage, as fixed-size Float64 records in a frame ring. Open it from the main thread
 * with `openSysStats()`.
 */
import { DeviceNotFoundError, defineSource, type RecordsSpec } from '@senseflow/core';
import { discover, selectedFields } from './discover.js';
import { resolveSysStatsOptions, type ResolvedSysStatsOptions } from './options.js';
import { Pacer } from './pacer.js';
import { SysStatsSampler } from './sampler.js';

/** Ring slots: about two seconds of records, 16 to 4096. */
export function ringSlots(hz: number): number {
  return Math.min(4096, Math.max(16, 2 ** Math.ceil(Math.log2(hz * 2))));
}

export default defineSource<ResolvedSysStatsOptions>({
  name: 'sysstats',
  options: resolveSysStatsOptions,
  describe(o): RecordsSpec {
    const c = discover(o);
    const names = new Set(selectedFields(c, o));
    return {
      kind: 'records',
      fields: c.fields.filter((f) => names.has(f.name)).map(({ name, unit, description }) => ({ name, unit, description })),
      rate: o.hz,
      ring: { slots: ringSlots(o.hz) },
      description: `system stats (${c.backend}) at ${o.hz} Hz`,
      deviceId: `sysstats:${c.backend}`,
      notes: c.notes,
    };
  },
  open(ctx, o, spec) {
    if (ctx.kind !== 'records' || spec.kind !== 'records') throw new TypeError('sysstats writes a records stream');
    // Re-discover and bind exactly the fields describe() announced (the ring is sized for them).
    const catalog = discover(o);
    const known = new Set(catalog.fields.map((f) => f.name));
    const missing = spec.fields.filter((f) => !known.has(f.name)).map((f) => f.name);
    if (missing.length) throw new DeviceNotFoundError(`gone between describe and open: ${missing.join(', ')}`, { fields: missing });
    const log = ctx.log;
    const sampler = new SysStatsSampler(
      catalog,
      spec.fields.map((f) => f.name),
      {
        hz: o.hz,
        windowMs: o.windowMs,
        readIntervalMs: o.readIntervalMs,
        onLost(what, err) {
          log.warn({ err }, `${what} is gone; its fields read NaN from now on`);
          ctx.emit('lost', { what, message: (err as Error)?.message });
        },
      },
    );
    const pacer = new Pacer(sampler, ctx.frames, ctx.clock, o.hz, (err) => ctx.error(err));
    return {
      start: () => pacer.start(),
      stop: () => pacer.stop(),
      async close() {
        await pacer.stop();
        sampler.close();
      },
    };
  },
});
