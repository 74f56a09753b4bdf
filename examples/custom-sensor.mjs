// Opens the IMU plugin from ./imu-sensor.mjs in its own worker and prints a few samples, stats and the
// cadence it kept (intervals between capture times), then the supervision events if there were any.
//   node examples/custom-sensor.mjs [seconds]
import { openSource } from '@senseflow/core';

const seconds = Number(process.argv[2] ?? 2);
const imu = await openSource(new URL('./imu-sensor.mjs', import.meta.url), { hz: 200 });
console.log(`opened ${imu.spec.description}; fields: ${imu.spec.fields.map((f) => `${f.name} [${f.unit}]`).join(', ')}`);

let n = 0;
const times = [];
imu.frames$.subscribe((r) => {
  times.push(r.captureNs);
  if (n++ % 100 === 0) console.log(`seq ${r.seq}  t=${r.captureNs} ns  az=${r.get('az').toFixed(3)} m/s²`);
});
imu.stats$.subscribe((s) => console.log(`stats: ${s.rate.toFixed(1)} records/s, drops ${JSON.stringify(s.drops)}`));
imu.events$.subscribe((e) => console.log(`event: ${e.type}`));
await new Promise((r) => setTimeout(r, seconds * 1000));
const drops = imu.drops();
await imu.close();
const gapsMs = times.slice(1).map((t, i) => Number(t - times[i]) / 1e6).sort((a, b) => a - b);
// A catch-up burst is records back to back: three within 2 ms (at 200 Hz they are due 10 ms apart).
let bursts = 0;
for (let i = 2; i < times.length; i++) if (times[i] - times[i - 2] < 2_000_000n) bursts++;
const due = Math.round(Number(times[times.length - 1] - times[0]) / 5e6) + 1; // 200 Hz: one every 5 ms
console.log(`received ${n} records`);
console.log(`cadence: ${n} records + ${drops.driver} skipped ticks = ${n + drops.driver} of ${due} due`);
console.log(`intervals: median ${gapsMs[gapsMs.length >> 1]?.toFixed(2)} ms, ${bursts} bursts (3 records within 2 ms), missed ticks counted as drops: ${drops.driver}`);
