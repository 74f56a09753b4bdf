// A sensor plugin with two faults, for examples/supervision.mjs: after `hangAt` records it hangs (an endless
// loop: its worker stops answering), and after `failAt` records its capture fails (the tick throws, which
// ctx.loop reports with ctx.error). Faults are tied to the ring's seq, which a restarted worker continues,
// so each happens once.
import { defineSource, intIn, optionsObject, withDefault } from '@senseflow/core';

export default defineSource({
  name: 'flaky',
  options(raw) {
    const o = optionsObject(raw, ['hz', 'hangAt', 'failAt']);
    return {
      hz: withDefault(o.hz, 100, (v) => intIn('hz', v, 1, 1000)),
      hangAt: withDefault(o.hangAt, 100, (v) => intIn('hangAt', v, 1, 1e9)),
      failAt: withDefault(o.failAt, 300, (v) => intIn('failAt', v, 1, 1e9)),
    };
  },
  describe: (o) => ({ kind: 'records', fields: [{ name: 'value', unit: '1' }], rate: o.hz, ring: { slots: 1024 }, description: `[flaky] ${o.hz} Hz` }),
  open(ctx, o) {
    const loop = ctx.loop({ hz: o.hz }, () => {
      const seq = ctx.records.write([Math.random()]);
      if (seq === BigInt(o.hangAt - 1)) for (;;); // hangs: the watchdog ends and restarts this worker
      if (seq === BigInt(o.failAt - 1)) throw new Error('sensor read failed'); // a crash, by ctx.error
    });
    return { start: loop.start, stop: loop.stop, close: loop.stop };
  },
});
