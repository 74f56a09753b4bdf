// A two-node sensor graph on NATS: the "robot" side publishes a camera and an IMU; the "analysis" side
// discovers them and opens them as local sources, with the robot's seq numbers and capture times.
// Here both sides run in one process for brevity; in real life they are different machines.
//   nats-server -a 127.0.0.1 -p 4222 -js &      then     node examples/nats-graph.mjs nats://127.0.0.1:4222
import { openSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { listRemoteStreams, openRemote, publish } from '@senseflow/nats';

const servers = process.argv[2] ?? 'nats://127.0.0.1:4222';
const seconds = Number(process.argv[3] ?? 2);

// Robot side
const cam = await openTestPattern({ width: 640, height: 480, fps: 30 });
const imu = await openSource(new URL('./imu-sensor.mjs', import.meta.url), { hz: 100 });
const pubs = [await publish(cam, { servers, node: 'robot', stream: 'cam' }), await publish(imu, { servers, node: 'robot', stream: 'imu' })];

// Analysis side: discover, then open what we found.
const live = await listRemoteStreams({ servers });
console.log(`live streams: ${live.map((e) => `${e.subject} (${e.spec.kind})`).join(', ')}`);
const remoteCam = await openRemote({ servers, subject: pubs[0].subject });
const remoteImu = await openRemote({ servers, subject: pubs[1].subject });
remoteCam.events$.subscribe((e) => {
  if (e.type === 'custom' && e.name === 'clock')
    console.log(`clock offset to the robot: ${(Number(e.payload.offsetNs) / 1e6).toFixed(3)} ms ± ${(Number(e.payload.uncertaintyNs) / 1e6).toFixed(3)} ms`);
});
let frames = 0;
let records = 0;
remoteCam.frames$.subscribe(() => frames++);
remoteImu.frames$.subscribe(() => records++);
await new Promise((r) => setTimeout(r, seconds * 1000));
const f = remoteCam.latest();
console.log(`received ${frames} frames (latest seq ${f?.seq}, ${f?.width}x${f?.height}) and ${records} imu records; drops ${JSON.stringify(remoteCam.drops())}`);

for (const s of [remoteCam, remoteImu]) await s.close();
for (const p of pubs) await p.close();
await cam.close();
await imu.close();
