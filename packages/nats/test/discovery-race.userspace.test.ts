// Publishers that start at the same moment on a server where the discovery bucket does not exist yet (a fresh
// server, a robot's nodes booting together), against real nats-servers. Debian 12's nats-server (2.9.10)
// checks a new stream's name and, after releasing its lock, its subjects: a create of the same bucket landing
// in between fails with "subjects overlap with an existing stream". The two-process test's publisher died of
// it in CI (stop 21) and in 1 of 43 local runs. The race is rare (with a plain create, 1 of 3 runs of the
// first test below failed, at round 28 of 400): the binding after a failed create is exercised only when the
// race hits. What is deterministic is tested apart: an existing bucket is used as it is, and a create that fails
// with no bucket to bind to ends in a clear error after its retries (a plain create gave the raw server error).
import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { openTestPattern } from '@senseflow/source-video';
import { KV_BUCKET, listRemoteStreams, openRemote, publish, type Publisher } from '@senseflow/nats';
import { openDiscoveryBucket } from '../src/bucket.js';
import { natsServerMissing, startNatsServer } from './nats-server.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);
const suite = natsServerMissing ? describe.skip : describe;

suite(`NATS discovery bucket${natsServerMissing ? ` (skipped: ${natsServerMissing})` : ''}`, () => {
  it('connections creating the bucket at once on fresh servers all get it, and it is one bucket (up to 400 rounds or 40 s)', async () => {
    const failed: string[] = [];
    const end = Date.now() + 40_000;
    let rounds = 0;
    for (; rounds < 400 && Date.now() < end && failed.length === 0; rounds++) {
      const server = await startNatsServer();
      const ncs = await Promise.all(Array.from({ length: 4 }, () => connect({ servers: server.url })));
      try {
        const got = await Promise.allSettled(ncs.map((nc) => openDiscoveryBucket(nc)));
        for (const g of got) if (g.status === 'rejected') failed.push(`round ${rounds}: ${(g.reason as Error).message}`);
        const kvs = got.flatMap((g) => (g.status === 'fulfilled' ? [g.value] : []));
        await Promise.all(kvs.map((kv, i) => kv.put(`k${i}`, 'x')));
        const keys: string[] = [];
        for await (const k of await kvs[0].keys()) keys.push(k);
        if (kvs.length === ncs.length) expect(keys.sort()).toEqual(kvs.map((_, i) => `k${i}`)); // every writer reached the same bucket
      } finally {
        await Promise.all(ncs.map((nc) => nc.close()));
        await server.stop();
      }
    }
    console.log(`discovery bucket: ${rounds} rounds of 4 concurrent creates on fresh servers`);
    expect(failed).toEqual([]);
  }, 90_000);

  it('on a server where nothing was ever published, listRemoteStreams() is empty and openRemote() names the missing stream', async () => {
    const server = await startNatsServer();
    try {
      expect(await listRemoteStreams({ servers: server.url })).toEqual([]);
      await expect(openRemote({ servers: server.url, subject: 'sf.robot.arm.cam' })).rejects.toMatchObject({
        code: 'ENODEV',
        message: expect.stringMatching(/no stream is published at sf\.robot\.arm\.cam \(none is live\)/),
      });
    } finally {
      await server.stop();
    }
  });

  it('a bucket that exists with another configuration is used as it is; one whose subjects another stream holds is a clear error', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await new Kvm(nc).create(KV_BUCKET, { history: 5 }); // e.g. made by another version: create() with ours fails
      const kv = await openDiscoveryBucket(nc);
      await kv.put('a.b.c', 'x');
      expect((await kv.get('a.b.c'))?.string()).toBe('x');
      expect((await jsm.streams.info(`KV_${KV_BUCKET}`)).config.max_msgs_per_subject).toBe(5); // the existing one, untouched

      await jsm.streams.delete(`KV_${KV_BUCKET}`);
      await jsm.streams.add({ name: 'squatter', subjects: [`$KV.${KV_BUCKET}.>`] });
      await expect(openDiscoveryBucket(nc)).rejects.toThrowError(/cannot create the discovery bucket 'senseflow_streams' \(4 attempts\): subjects overlap/);
    } finally {
      await nc.close();
      await server.stop();
    }
  });

  it('8 publishers starting at once on a fresh server all publish and are all discoverable (5 rounds)', async () => {
    const cam = await openTestPattern({ width: 64, height: 48, fps: 5 });
    try {
      for (let round = 0; round < 5; round++) {
        const server = await startNatsServer();
        const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => publish(cam, { servers: server.url, node: 'boot', stream: `s${i}` })));
        const pubs = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        try {
          expect(settled.flatMap((s) => (s.status === 'rejected' ? [`round ${round}: ${(s.reason as Error).message}`] : []))).toEqual([]);
          const live = await listRemoteStreams({ servers: server.url });
          expect(live.map((e) => e.stream).sort()).toEqual(pubs.map((p: Publisher) => p.address.stream).sort());
        } finally {
          await Promise.all(pubs.map((p) => p.close()));
          await server.stop();
        }
      }
    } finally {
      await cam.close();
    }
  }, 90_000);
});
