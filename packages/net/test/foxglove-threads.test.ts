import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { openTestPattern } from '@senseflow/source-video';
import { serveFoxglove } from '@senseflow/net';

// docs/threads.md: serveFoxglove() keeps the main thread out of the data path. Block it for a second and a
// Foxglove client (in its own thread) keeps receiving frames whose capture times advance: the server's
// worker reads the ring, encodes and sends without the main thread.
const closing: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.allSettled(closing.splice(0).map((c) => c.close()));
});
const keep = <T extends { close(): Promise<unknown> }>(x: T) => (closing.push(x), x);

describe('the Foxglove data path runs off the main thread', { timeout: 30_000 }, () => {
  it('a client keeps receiving /video with advancing capture times while the main thread is blocked for 1 s', async () => {
    const video = keep(await openTestPattern({ width: 160, height: 120, fps: 30, pixelFormat: 'rgb24' }));
    const server = keep(await serveFoxglove({ sources: { video }, port: 0 }));
    const client = new Worker(new URL('./foxglove-client-worker.mjs', import.meta.url), { workerData: { url: server.url, topic: '/video', ms: 4000 } });
    closing.push({ close: () => client.terminate() });
    const done = new Promise<[number, string][]>((resolve, reject) => {
      client.on('message', (m: { t: string; got?: [number, string][]; message?: string }) => {
        if (m.t === 'done') resolve(m.got!);
        if (m.t === 'error') reject(new Error(m.message));
      });
      client.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no first /video message within 10 s')), 10_000);
      client.on('message', (m: { t: string }) => m.t === 'first' && (clearTimeout(t), resolve()));
    });
    const from = Date.now();
    const end = from + 1000;
    while (Date.now() < end) {
      /* the main thread does nothing else for 1 s */
    }
    const got = await done;
    // Messages that arrived while the main thread was blocked (a margin at both ends for thread start-up).
    const during = got.filter(([at]) => at > from + 100 && at < end - 50).map(([, ns]) => BigInt(ns));
    // ~25 frames were captured in that window; a main-thread data path delivers none of them until it ends.
    expect(during.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < during.length; i++) expect(during[i] > during[i - 1]).toBe(true);
    expect(Number(during.at(-1)! - during[0]) / 1e6).toBeGreaterThan(100);
  });
});
