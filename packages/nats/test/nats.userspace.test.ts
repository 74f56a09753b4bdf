// Against a real nats-server (Debian's package) on 127.0.0.1 with a random port per test file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, lastValueFrom, map, take, timeout, toArray } from 'rxjs';
import { InvalidOptionError, type AudioChunk, type RecordItem, type VideoFrame } from '@senseflow/core';
import { decodePattern, openTestPattern, patternGeometry } from '@senseflow/source-video';
import { controlRemote, listRemoteStreams, openRemote, publish } from '@senseflow/nats';
import { natsServerMissing, startNatsServer, type NatsServer } from './nats-server.js';
import { startPublisherProcess } from './publisher-process.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);
const suite = natsServerMissing ? describe.skip : describe;

suite(`NATS graphs${natsServerMissing ? ` (skipped: ${natsServerMissing})` : ''}`, () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => server?.stop());

  it('a graph across two processes: video, audio and records keep seq and capture times', async () => {
    const publisher = await startPublisherProcess(server.url, 'robot');
    try {
      const [cam, mic, imu] = publisher.subjects;
      const live = await listRemoteStreams({ servers: server.url });
      expect(live.map((e) => e.subject).sort()).toEqual([cam, imu, mic].sort());
      expect(live.find((e) => e.subject === cam)!.spec.kind).toBe('video');

      const rcam = await openRemote<VideoFrame>({ servers: server.url, subject: cam });
      const rmic = await openRemote<AudioChunk>({ servers: server.url, subject: mic });
      const rimu = await openRemote<RecordItem>({ servers: server.url, subject: imu });
      try {
        const g = patternGeometry(320, 240, 'rgb24');
        const frames = await lastValueFrom(rcam.frames$.pipe(map((f) => ({ seq: f.seq, captureNs: f.captureNs, px: decodePattern(f.data, g) })), take(20), toArray(), timeout(20_000)));
        for (const f of frames) expect(f.px).toEqual({ seq: f.seq, captureNs: f.captureNs }); // the publisher's own seq and stamp
        const chunks = await lastValueFrom(rmic.frames$.pipe(map((c) => ({ start: c.startFrame, n: c.frames, t: c.captureNs })), take(20), toArray(), timeout(20_000)));
        for (let i = 1; i < chunks.length; i++) {
          expect(chunks[i].start).toBe(chunks[i - 1].start + BigInt(chunks[i - 1].n)); // in order, no gap
          expect(chunks[i].t - chunks[i - 1].t).toBe((BigInt(chunks[i - 1].n) * 1_000_000_000n) / 16000n); // capture times intact
        }
        const recs = await lastValueFrom(rimu.frames$.pipe(map((r) => ({ seq: r.seq, az: r.get('az') })), take(20), toArray(), timeout(20_000)));
        for (let i = 1; i < recs.length; i++) expect(recs[i].seq).toBe(recs[i - 1].seq + 1n);
        expect(recs[0].az).toBeGreaterThan(9);
        const clock = await firstValueFrom(rcam.events$.pipe(filter((e) => e.type === 'custom' && e.name === 'clock'), timeout(10_000)));
        expect(clock.type === 'custom' && BigInt((clock.payload as { uncertaintyNs: string }).uncertaintyNs)).toBeGreaterThan(0n);
        expect(rcam.drops().network).toBe(0);
      } finally {
        await Promise.all([rcam.close(), rmic.close(), rimu.close()]);
      }
    } finally {
      await publisher.stop();
    }
  });

  it('chunks a 1080p raw frame over the max payload and reassembles it exactly', async () => {
    const cam = await openTestPattern({ width: 1920, height: 1080, fps: 5 });
    const pub = await publish(cam, { servers: server.url, node: 'big', stream: 'cam' });
    const remote = await openRemote<VideoFrame>({ servers: server.url, subject: pub.subject });
    try {
      const g = patternGeometry(1920, 1080, 'rgb24');
      const got = await lastValueFrom(remote.frames$.pipe(map((f) => ({ seq: f.seq, len: f.data.length, px: decodePattern(f.data, g), mid: f.data[6220800 / 2] })), take(3), toArray(), timeout(30_000)));
      for (const f of got) {
        expect(f.len).toBe(1920 * 1080 * 3);
        expect(f.px.seq).toBe(f.seq);
      }
      expect(pub.stats().chunkedItems).toBeGreaterThan(0);
    } finally {
      await remote.close();
      await pub.close();
      await cam.close();
    }
  });

  it('a deliberately slow subscriber does not slow a fast one', async () => {
    const cam = await openTestPattern({ width: 320, height: 240, fps: 50 });
    const pub = await publish(cam, { servers: server.url, node: 'slow', stream: 'cam' });
    const slow = await openRemote<VideoFrame>({ servers: server.url, subject: pub.subject });
    const fast = await openRemote<VideoFrame>({ servers: server.url, subject: pub.subject });
    try {
      const sub = slow.frames$.subscribe(() => {
        const end = Date.now() + 100; // 100 ms of work per frame at 50 fps: far too slow
        while (Date.now() < end);
      });
      const first = fast.latest()?.seq ?? (await firstValueFrom(fast.frames$.pipe(take(1), map((f) => f.seq))));
      await new Promise((r) => setTimeout(r, 2000));
      sub.unsubscribe();
      const last = fast.latest()!.seq;
      // The fast remote's worker kept receiving every frame (its ring head advanced at the full rate, no gaps).
      expect(Number(last - first)).toBeGreaterThan(60);
      // Any gap the fast one saw was lost before publishing (the publisher lagging on a busy machine), never
      // in transit because of the slow subscriber.
      expect(fast.drops().network).toBeLessThanOrEqual(pub.stats().lost);
      expect(slow.drops().overwritten).toBeGreaterThan(0); // the slow one lost frames — counted, latest-wins
    } finally {
      await Promise.all([slow.close(), fast.close()]);
      await pub.close();
      await cam.close();
    }
  });

  it('survives a server restart mid-stream: reconnects, reports it, and counts the gap', async () => {
    const cam = await openTestPattern({ width: 160, height: 120, fps: 30 });
    const pub = await publish(cam, { servers: server.url, node: 'restart', stream: 'cam' });
    const remote = await openRemote<VideoFrame>({ servers: server.url, subject: pub.subject });
    const events: string[] = [];
    remote.events$.subscribe((e) => events.push(e.type));
    try {
      await lastValueFrom(remote.frames$.pipe(take(5), timeout(10_000)));
      const before = remote.latest()!.seq;
      await server.stop();
      await new Promise((r) => setTimeout(r, 1500)); // ~45 frames published into the void
      await server.restart();
      const after = await firstValueFrom(remote.frames$.pipe(filter((f) => f.seq > before + 10n), map((f) => f.seq), timeout(20_000)));
      expect(after).toBeGreaterThan(before);
      expect(events).toContain('disconnected');
      expect(events).toContain('reconnected');
      expect(remote.drops().network).toBeGreaterThan(0); // the seq jump is a counted gap
    } finally {
      await remote.close();
      await pub.close();
      await cam.close();
    }
  }, 60_000);

  it('control over request/reply: stop and start the remote source', async () => {
    const cam = await openTestPattern({ width: 160, height: 120, fps: 30 });
    const pub = await publish(cam, { servers: server.url, node: 'ctl', stream: 'cam' });
    try {
      await controlRemote({ servers: server.url, subject: pub.subject }, { op: 'stop' });
      expect(cam.state).toBe('stopped');
      await controlRemote({ servers: server.url, subject: pub.subject }, { op: 'start' });
      expect(cam.state).toBe('running');
      await expect(controlRemote({ servers: server.url, subject: pub.subject }, { op: 'getControl', name: 'brightness' })).rejects.toThrowError(/no controls/);
    } finally {
      await pub.close();
      await cam.close();
    }
  });

  it('records into JetStream and replays the recording after the publisher is gone, seq and times intact', async () => {
    const cam = await openTestPattern({ width: 160, height: 120, fps: 20 });
    const pub = await publish(cam, { servers: server.url, node: 'rec', stream: 'cam', jetstream: 'SF_REC' });
    await new Promise((r) => setTimeout(r, 1500));
    await pub.close();
    await cam.close();
    expect(await listRemoteStreams({ servers: server.url }).then((l) => l.some((e) => e.subject === pub.subject))).toBe(false);
    // Subscribe before starting; replay at the recorded pace (a fast replay can outrun an 8-slot ring).
    const replay = await openRemote<VideoFrame>({ servers: server.url, subject: pub.subject, replay: { jetstream: 'SF_REC', pace: 'original' } }, { autoStart: false });
    try {
      const g = patternGeometry(160, 120, 'rgb24');
      const got = lastValueFrom(replay.frames$.pipe(map((f) => ({ seq: f.seq, captureNs: f.captureNs, px: decodePattern(f.data, g) })), take(10), toArray(), timeout(20_000)));
      await replay.start();
      const frames = await got;
      for (let i = 0; i < frames.length; i++) {
        expect(frames[i].px).toEqual({ seq: frames[i].seq, captureNs: frames[i].captureNs });
        if (i) expect(frames[i].seq).toBe(frames[i - 1].seq + 1n);
      }
    } finally {
      await replay.close();
    }
    await expect(openRemote({ servers: server.url, subject: 'sf.x.y.z', replay: { jetstream: 'SF_REC' } })).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('an unknown subject is a typed error that lists the live streams', async () => {
    await expect(openRemote({ servers: server.url, subject: 'sf.nobody.none.cam' })).rejects.toMatchObject({ code: 'ENODEV' });
  });
});

suite('NATS auth', () => {
  it('requires the token or user/password the server demands', async () => {
    const server = await startNatsServer({ token: 's3cret' });
    const cam = await openTestPattern({ width: 160, height: 120, fps: 10 });
    try {
      await expect(publish(cam, { servers: server.url })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(publish(cam, { servers: server.url, token: 'wrong' })).rejects.toMatchObject({ details: { parameter: 'token' } });
      const pub = await publish(cam, { servers: server.url, token: 's3cret', node: 'auth', stream: 'cam' });
      const remote = await openRemote({ servers: server.url, token: 's3cret', subject: pub.subject });
      await lastValueFrom(remote.frames$.pipe(take(2), timeout(10_000)));
      await remote.close();
      await pub.close();
    } finally {
      await cam.close();
      await server.stop();
    }
    const up = await startNatsServer({ user: 'robot', pass: 'pw' });
    const cam2 = await openTestPattern({ width: 160, height: 120, fps: 10 });
    try {
      await expect(publish(cam2, { servers: up.url, user: 'robot', pass: 'nope' })).rejects.toBeInstanceOf(InvalidOptionError);
      const pub = await publish(cam2, { servers: up.url, user: 'robot', pass: 'pw', node: 'auth2', stream: 'cam' });
      await pub.close();
    } finally {
      await cam2.close();
      await up.stop();
    }
  }, 60_000);
});
