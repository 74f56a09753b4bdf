/**
 * Publishes one ring to NATS from its own worker: the main thread is not in the data path. Reads through
 * core's RingConsumer (batched wake-ups, loss counted). Each item is one message (or several chunks of at
 * most the server's max payload): video/records straight from the leased ring view, audio from a copy
 * verified after copying (a chunk the writer tore is counted as lost, never sent). Ends on 'close' or when
 * the ring closes (its source closed).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { headers } from '@nats-io/transport-node';
import { RingConsumer, formatName, type FrameView, type SampleChunkView, type StreamSpec } from '@senseflow/core';
import { connectNats, type NatsConnectionOptions } from './connection.js';
import { H } from './subjects.js';
import { chunksOf, encodeChunk, encodeFormat } from './wire.js';

interface Init {
  ring: SharedArrayBuffer;
  spec: StreamSpec;
  subject: string;
  conn: NatsConnectionOptions;
  clock: string;
  /** This publisher's life (H.sender). */
  sender: string;
  /** BigInt64Array counters: [messages, bytes, items, chunkedItems, lost (lapped before publishing)] */
  counters: SharedArrayBuffer;
}

const init = workerData as Init;
const counters = new BigInt64Array(init.counters);
const nc = await connectNats(init.conn, `senseflow-publisher ${init.subject}`);
// Headers count against max_payload: keep a margin for ours.
const maxChunk = Math.max(1024, nc.info!.max_payload - 1024);
const stop = new AbortController();
const consumer = new RingConsumer(init.ring, { signal: stop.signal });
parentPort!.on('message', (m) => {
  if (m === 'close') stop.abort();
});

function send(meta: { seq: bigint; captureNs: bigint; receiveNs: bigint; flags: number; format: Record<string, string | number> }, bytes: Uint8Array): void {
  const parts = chunksOf(bytes, maxChunk);
  for (let i = 0; i < parts.length; i++) {
    const h = headers();
    h.set(H.seq, meta.seq.toString());
    h.set(H.captureNs, meta.captureNs.toString());
    h.set(H.receiveNs, meta.receiveNs.toString());
    h.set(H.clock, init.clock);
    h.set(H.sender, init.sender);
    h.set(H.flags, String(meta.flags));
    h.set(H.format, encodeFormat(meta.format));
    if (parts.length > 1) h.set(H.chunk, encodeChunk({ index: i, count: parts.length, total: bytes.byteLength }));
    nc.publish(init.subject, parts[i], { headers: h });
    counters[0]++;
    counters[1] += BigInt(parts[i].byteLength);
  }
  counters[2]++;
  if (parts.length > 1) counters[3]++;
}

function drain(): void {
  if (consumer.kind === 'frame') {
    const frames = consumer as RingConsumer<FrameView>;
    for (let v = frames.take(); v; v = frames.take()) {
      const format: Record<string, string | number> =
        init.spec.kind === 'video' ? { w: v.width, h: v.height, s: v.stride, f: formatName(v.format) } : { n: v.byteLength / 8 };
      send({ ...v, format }, v.data); // under a read lease: nats copies it into its outbound buffer intact
    }
    frames.release();
  } else {
    const chunks = consumer as RingConsumer<SampleChunkView>;
    for (let c = chunks.take(); c; c = chunks.take()) {
      const data = chunks.copy(c); // verified after copying; null = torn by the writer (counted)
      if (!data) continue;
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      send({ seq: c.seq, captureNs: c.captureNs, receiveNs: c.receiveNs, flags: c.flags, format: { sf: c.startFrame.toString(), n: c.frames } }, bytes);
    }
  }
  counters[4] = BigInt(consumer.drops().overwritten);
}

do drain();
while (await consumer.wait());
drain();
consumer.close();
await nc.drain();
parentPort!.postMessage('closed');
parentPort!.close(); // nothing keeps this worker alive now: it ends
