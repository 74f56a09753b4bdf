// The worker side of ring-consumer.mjs: consume the ring, one wake-up per batch, until the source closes.
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer } from '@senseflow/core';

const consumer = new RingConsumer(workerData.ring, { maxDelayMs: 10 }); // up to 10 ms late, in batches
parentPort.postMessage('ready'); // from here on, nothing committed is missed
let records = 0;
let wakes = 0;
while (await consumer.wait()) {
  wakes++;
  for (let r = consumer.take(); r; r = consumer.take()) {
    const values = new Float64Array(r.data.buffer, r.data.byteOffset, 2); // cpu, mem.used
    if (values[0] >= 0) records++;
  }
}
const drops = consumer.drops(); // by cause: driver, ringFull, …, overwritten (lapped before we took them)
parentPort.postMessage({ records, wakes, drops, lost: Object.values(drops).reduce((a, b) => a + b, 0) });
