// A Foxglove client in its own thread (foxglove-threads.test.ts): it keeps receiving while the test's main
// thread is blocked. Subscribes to `topic`, notes each message's arrival (Date.now(), shared by every thread)
// and capture time, posts 'first' at the first message and the whole list after `ms`.
import { parentPort, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import wsProtocol from '@foxglove/ws-protocol';

const { FoxgloveClient } = wsProtocol; // CommonJS: Node's ESM loader gives it as the default export

const { url, topic, ms } = workerData;
const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
const client = new FoxgloveClient({ ws });
const got = [];
client.on('advertise', (list) => list.filter((c) => c.topic === topic).forEach((c) => client.subscribe(c.id)));
client.on('message', (m) => {
  if (got.length === 0) parentPort.postMessage({ t: 'first' });
  got.push([Date.now(), String(m.timestamp)]);
});
client.on('error', (e) => parentPort.postMessage({ t: 'error', message: String(e?.message ?? e) }));
setTimeout(() => {
  client.close();
  parentPort.postMessage({ t: 'done', got });
}, ms);
