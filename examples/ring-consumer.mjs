// Reading a source's ring from your own worker with core's RingConsumer (batched wake-ups, loss counted,
// ends by itself when the source closes), and keeping the last frames with history(n).
//   node examples/ring-consumer.mjs [seconds]
import { Worker } from 'node:worker_threads';
import { openTestPattern } from '@senseflow/source-video';
import { openSysStats } from '@senseflow/source-sysstats';

const seconds = Number(process.argv[2] ?? 2);
const stats = await openSysStats({ hz: 200, fields: ['cpu', 'mem.used'] });
const cam = await openTestPattern({ width: 320, height: 240, fps: 30, slots: 32 });

// The worker gets only the ring's SharedArrayBuffer: no postMessage per item.
const worker = new Worker(new URL('./ring-consumer-worker.mjs', import.meta.url), { workerData: { ring: stats.ring } });
const next = () => new Promise((resolve) => worker.once('message', resolve));
await next(); // 'ready': the worker's consumer is attached
const report = next();
await new Promise((r) => setTimeout(r, seconds * 1000));

// PsychoPy's keepFrames: the last 10 frames as copies that stay valid after the ring moves on.
const kept = cam.history(10);
console.log(`history(10): ${kept.length} frames, seq ${kept[0].seq}…${kept.at(-1).seq}, ${kept[0].width}x${kept[0].height}`);

// Closing the source ends every consumer of its ring: the worker's loop finishes on its own.
await stats.close();
await cam.close();
const r = await report;
console.log(`worker: ${r.records} records in ${r.wakes} wake-ups, lost ${r.lost} (by cause: ${JSON.stringify(r.drops)}), ended because the ring closed`);
