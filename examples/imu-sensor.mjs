// A third-party sensor plugin: a simulated IMU (accelerometer + gyro) at any rate. It runs inside its own
// worker; the main thread opens it by file URL (or by package name once published) — no core changes.
// ctx.loop keeps the cadence (an overdue tick is skipped and counted, never burst); ctx.records.write
// writes one record from its values, sized from the fields (no byte counting).
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
    const n = () => (Math.random() - 0.5) * o.noise;
    const sample = new Float64Array(6); // reused: no allocation per record
    const loop = ctx.loop({ hz: o.hz }, () => {
      const captureNs = ctx.clock.now(); // when the sensor was read
      const t = Number(captureNs) / 1e9;
      sample[0] = Math.sin(t) + n(); sample[1] = Math.cos(t) + n(); sample[2] = 9.81 + n();
      sample[3] = 0.1 * Math.cos(t) + n(); sample[4] = n(); sample[5] = n();
      ctx.records.write(sample, captureNs);
    });
    // A tick that throws is a capture failure (ctx.error): the host restarts the worker by policy.
    return { start: loop.start, stop: loop.stop, close: loop.stop };
  },
});
