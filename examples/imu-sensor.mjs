// A third-party sensor plugin: a simulated IMU (accelerometer + gyro) at any rate. It runs inside its own
// worker; the main thread opens it by file URL (or by package name once published) — no core changes.
import { defineSource, intIn, numberIn, optionsObject, withDefault } from '@senseflow/core';

export default defineSource({
  name: 'imu',
  options(raw) {
    const o = optionsObject(raw, ['hz', 'noise']);
    return {
      hz: withDefault(o.hz, 200, (v) => intIn('hz', v, 1, 2000)),
      noise: withDefault(o.noise, 0.01, (v) => numberIn('noise', v, 0, 10)),
    };
  },
  describe: (o) => ({
    kind: 'records',
    fields: [
      { name: 'ax', unit: 'm/s²' }, { name: 'ay', unit: 'm/s²' }, { name: 'az', unit: 'm/s²' },
      { name: 'gx', unit: 'rad/s' }, { name: 'gy', unit: 'rad/s' }, { name: 'gz', unit: 'rad/s' },
    ],
    rate: o.hz,
    ring: { slots: 256 },
    description: `[imu] simulated, ${o.hz} Hz`,
  }),
  open(ctx, o) {
    const period = BigInt(Math.round(1e9 / o.hz));
    let run = null;
    const loop = async (signal) => {
      let next = ctx.clock.now();
      while (!signal.aborted) {
        next += period;
        await ctx.clock.sleepUntil(next, signal);
        const slot = ctx.frames.begin(); // write the record in place, straight into the ring
        if (!slot) continue;
        const t = Number(next) / 1e9;
        const v = new Float64Array(slot.data.buffer, slot.data.byteOffset, 6);
        const n = () => (Math.random() - 0.5) * o.noise;
        v[0] = Math.sin(t) + n(); v[1] = Math.cos(t) + n(); v[2] = 9.81 + n();
        v[3] = 0.1 * Math.cos(t) + n(); v[4] = n(); v[5] = n();
        ctx.frames.commit(slot, 48, ctx.clock.now());
      }
    };
    return {
      start() { run = new AbortController(); loop(run.signal).catch((e) => ctx.error(e)); },
      stop() { run?.abort(); },
      close() { run?.abort(); },
    };
  },
});
