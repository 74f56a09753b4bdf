import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoFrame, VideoSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { connect, serve, type NetServer, type RemoteSource } from '@senseflow/net';
import { until } from './helpers.js';

// docs/threads.md: serve() and connect() keep the main thread out of the data path. Block it and the
// stream still flows: the server's worker reads the ring and sends, connect()'s worker receives and writes.
describe('the network data path runs off the main thread', () => {
  let cam: VideoSource;
  let server: NetServer;
  beforeAll(async () => {
    cam = (await openTestPattern({ width: 160, height: 120, fps: 30 })) as VideoSource;
    server = await serve({ sources: { cam }, port: 0, dashboard: false });
  });
  afterAll(async () => {
    await server?.close();
    await cam?.close();
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`${transport}: frames keep arriving in the remote ring while the main thread is blocked for 1 s`, async () => {
      const url = transport === 'tcp' ? `tcp://127.0.0.1:${server.address.port}` : `ws://127.0.0.1:${server.address.port}/ws`;
      const remote = (await connect(url, { stream: 'cam' })) as RemoteSource<VideoFrame>;
      try {
        await until(() => remote.latest() !== null, 10_000, 'a first frame');
        const before = remote.latest()!.seq;
        const end = Date.now() + 1000;
        while (Date.now() < end) {
          /* the main thread does nothing else for 1 s */
        }
        const after = remote.latest()!.seq;
        // 30 frames were captured meanwhile; all of them went source → server worker → socket → receive worker → ring.
        expect(Number(after - before)).toBeGreaterThanOrEqual(20);
      } finally {
        await remote.close();
      }
    });
  }
});
