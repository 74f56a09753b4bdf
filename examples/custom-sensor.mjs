// Opens the IMU plugin from ./imu-sensor.mjs in its own worker and prints a few samples, stats and the
// cadence it kept (intervals between capture times), then the supervision events if there were any.
//   node examples/custom-sensor.mjs [seconds]
import { openSource } from '@senseflow/core';

const seconds = Number(process.argv[2] ?? 2);
const imu = await openSource(new URL('./imu-sensor.mjs', import.meta.url), { hz: 200 });
console.log(`opened ${imu.spec.description}; fields: ${imu.spec.fields.map((f) => `${f.name} [${f.unit}]`).join(', ')}`);

let n = 0;
let last = null;
const gapsMs = [];
imu.frames$.subscribe((r) => {
  if (last !== null) gapsMs.push(Number(r.captureNs - last) / 1e6);
  last = r.captureNs;
  if (n++ % 100 === 0) console.log(`seq ${r.seq}  t=${r.captureNs} ns  az=${r.get('az').toFixed(3)} m/s²`);
});
imu.stats$.subscribe((s) => console.log(`stats: ${s.rate.toFixed(1)} records/s, drops ${JSON.stringify(s.drops)}`));
imu.events$.subscribe((e) => console.log(`event: ${e.type}`));
await new Promise((r) => setTimeout(r, seconds * 1000));
const drops = imu.drops();
await imu.close();
gapsMs.sort((a, b) => a - b);
const under1 = gapsMs.filter((g) => g < 1).length;
console.log(`received ${n} records`);
console.log(`intervals: median ${gapsMs[gapsMs.length >> 1]?.toFixed(2)} ms, ${under1} under 1 ms (bursts), missed ticks counted as drops: ${drops.driver}`);
