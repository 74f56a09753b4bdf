// Opens the IMU plugin from ./imu-sensor.mjs in its own worker and prints a few samples and stats.
//   node examples/custom-sensor.mjs [seconds]
import { openSource } from '@senseflow/core';

const seconds = Number(process.argv[2] ?? 2);
const imu = await openSource(new URL('./imu-sensor.mjs', import.meta.url), { hz: 200 });
console.log(`opened ${imu.spec.description}; fields: ${imu.spec.fields.map((f) => `${f.name} [${f.unit}]`).join(', ')}`);

let n = 0;
imu.frames$.subscribe((r) => {
  if (n++ % 100 === 0) console.log(`seq ${r.seq}  t=${r.captureNs} ns  az=${r.get('az').toFixed(3)} m/s²`);
});
imu.stats$.subscribe((s) => console.log(`stats: ${s.rate.toFixed(1)} records/s, drops ${JSON.stringify(s.drops)}`));
await new Promise((r) => setTimeout(r, seconds * 1000));
console.log(`received ${n} records`);
await imu.close();
