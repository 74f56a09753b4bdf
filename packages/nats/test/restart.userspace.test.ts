// A real publisher restart under a live openRemote(): the publishing process is killed and a new one
// publishes the same subjects (seq from 0). The relay must deliver the new life at once and count the gap.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { monotonicNs, type AudioChunk, type SourceEvent, type VideoFrame } from '@senseflow/core';
import { decodePattern, patternGeometry } from '@senseflow/source-video';
import { openRemote } from '@senseflow/nats';
import { natsServerMissing, startNatsServer, type NatsServer } from './nats-server.js';
import { startPublisherProcess, type PublisherProcess } from './publisher-process.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);
const suite = natsServerMissing ? describe.skip : describe;
const FPS = 30;

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

suite(`openRemote across a real publisher restart${natsServerMissing ? ` (skipped: ${natsServerMissing})` : ''}`, () => {
  let server: NatsServer;
  const children: PublisherProcess[] = [];
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
  });
  afterAll(async () => server?.stop());

  it('video and audio from the new publisher within 2 s of its first item; the gaps counted; stale while silent', async () => {
    const first = await startPublisherProcess(server.url, 'restarting');
    children.push(first);
    const [camSubject, micSubject] = first.subjects;
    const cam = await openRemote<VideoFrame>({ servers: server.url, subject: camSubject });
    const mic = await openRemote<AudioChunk>({ servers: server.url, subject: micSubject });
    const events: SourceEvent[] = [];
    const sub = cam.events$.subscribe((e) => events.push(e));
    try {
      // The old publisher runs long enough (10 s) that its seq is far above where the new one starts publishing.
      await until(() => (cam.latest()?.seq ?? 0n) > 300n && mic.latest() !== null, 40_000, 'frames from the first publisher');
      const oldLast = cam.latest()!.captureNs;
      const camBefore = cam.drops().network;
      const micBefore = mic.drops().network;
      await first.kill();
      const killedNs = monotonicNs();
      await until(() => events.some((e) => e.type === 'custom' && e.name === 'stale'), 5000, 'a stale event');
      const second = await startPublisherProcess(server.url, 'restarting');
      children.push(second);
      await until(() => (cam.latest()?.captureNs ?? 0n) > killedNs, 15_000, 'a frame from the new publisher');
      const freshAt = monotonicNs();
      const v = cam.latest()!;
      const px = decodePattern(v.data, patternGeometry(320, 240, 'rgb24'));
      expect(px.captureNs).toBe(v.captureNs);
      // The fixture prints `ready` once each stream published its first item: the new sender's first item.
      expect(Number(freshAt - second.readyNs) / 1e6).toBeLessThan(2000);
      // The event is a message from the receive worker and the frame went through the ring: the frame can be
      // seen first (docs/architecture.md, "Events and items"). It follows within an event-loop turn or two.
      await until(() => events.some((e) => e.type === 'custom' && e.name === 'epoch'), 2000, 'the epoch event');
      const epoch = events.find((e) => e.type === 'custom' && e.name === 'epoch');
      const lost = (epoch as { payload: { lost: number } }).payload.lost;
      const gapFrames = (Number(px.captureNs - oldLast) / 1e9) * FPS;
      expect(lost).toBeGreaterThan(gapFrames * 0.5);
      expect(lost).toBeLessThan(gapFrames * 1.5 + 5);
      expect(cam.drops().network - camBefore).toBeGreaterThanOrEqual(lost);
      await until(() => (mic.latest()?.captureNs ?? 0n) > killedNs, 5000, 'audio from the new publisher');
      expect(mic.drops().network - micBefore).toBeGreaterThan(16_000); // ≥ 1 s silent at 16 kHz
      await until(() => events.some((e) => e.type === 'custom' && e.name === 'live'), 3000, 'a live event');
    } finally {
      sub.unsubscribe();
      await Promise.all([cam.close(), mic.close()]);
    }
  }, 120_000);
});
