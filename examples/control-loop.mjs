// A 100 Hz control loop that reads the newest camera frame and IMU record with latest() on every tick —
// no queues, no stale frames — and reports how old the data it acted on was.
//   node examples/control-loop.mjs [seconds]
import { openSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';

const seconds = Number(process.argv[2] ?? 2);
const cam = await openTestPattern({ width: 640, height: 480, fps: 30, pixelFormat: 'gray8' });
const imu = await openSource(new URL('./imu-sensor.mjs', import.meta.url), { hz: 500 });

const periodNs = 10_000_000n; // 100 Hz
let next = process.hrtime.bigint() + periodNs;
const ages = [];
let ticks = 0;
const end = process.hrtime.bigint() + BigInt(seconds * 1e9);
while (next < end) {
  await new Promise((r) => setTimeout(r, Math.max(0, Number(next - process.hrtime.bigint()) / 1e6)));
  const now = process.hrtime.bigint();
  const frame = cam.latest(); // zero-copy view of the newest complete frame
  const accel = imu.latest();
  if (frame && accel) {
    // "Perception": mean brightness of the centre row; "control": lean against the measured tilt.
    const row = frame.data.subarray(frame.stride * (frame.height >> 1), frame.stride * ((frame.height >> 1) + 1));
    let sum = 0;
    for (let i = 0; i < row.length; i++) sum += row[i];
    const command = -0.5 * accel.get('ax') + (sum / row.length - 128) / 1280;
    void command;
    ages.push([Number(now - frame.captureNs) / 1e6, Number(now - accel.captureNs) / 1e6]);
  }
  ticks++;
  next += periodNs;
}
ages.sort((a, b) => a[0] - b[0]);
const med = (i) => ages.map((a) => a[i]).sort((a, b) => a - b)[ages.length >> 1];
console.log(`ticks: ${ticks}, acted on: ${ages.length}`);
console.log(`median frame age ${med(0).toFixed(2)} ms (a 30 fps camera: ≤ 33 ms), median imu age ${med(1).toFixed(2)} ms (500 Hz: ≤ 2 ms)`);
await cam.close();
await imu.close();
