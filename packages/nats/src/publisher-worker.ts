/**
 * Publishes one ring to NATS from its own worker: the main thread is not in the data path. Each item is
 * one message (or several chunks of at most the server's max payload), payload straight from the ring view.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { headers } from '@nats-io/transport-node';
import { FrameRingReader, I32, SampleRingReader, attachReader, formatName, type StreamSpec } from '@senseflow/core';
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
const reader = attachReader(init.ring);
const notify = new Int32Array(init.ring, 0, 16);
let closing = false;
parentPort!.on('message', (m) => {
  if (m === 'close') closing = true;
  Atomics.notify(notify, I32.NOTIFY);
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
  if (reader instanceof FrameRingReader) {
    for (let v = reader.next(); v; v = reader.next()) {
      const format: Record<string, string | number> =
        init.spec.kind === 'video' ? { w: v.width, h: v.height, s: v.stride, f: formatName(v.format) } : { n: v.byteLength / 8 };
      send({ ...v, format }, v.data); // nats copies into its outbound buffer; then the lease is released
    }
    reader.release();
    counters[4] = BigInt(reader.drops().overwritten);
  } else {
    const r = reader as SampleRingReader;
    for (let c = r.next(); c; c = r.next()) {
      const bytes = new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength);
      send({ seq: c.seq, captureNs: c.captureNs, receiveNs: c.receiveNs, flags: c.flags, format: { sf: c.startFrame.toString(), n: c.frames } }, bytes);
    }
    counters[4] = BigInt(r.drops().overwritten);
  }
}

while (!closing) {
  const seen = Atomics.load(notify, I32.NOTIFY);
  drain();
  const w = Atomics.waitAsync(notify, I32.NOTIFY, seen, 500);
  if (w.async) await w.value;
}
drain();
await nc.drain();
parentPort!.postMessage('closed');
