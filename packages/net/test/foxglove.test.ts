import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FoxgloveClient } from '@foxglove/ws-protocol';
import { protobufFromBinaryDescriptor } from '@mcap/support';
import { openSource, type Source } from '@senseflow/core';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';
import { serveFoxglove } from '@senseflow/net';
import { collectFoxglove } from './foxglove-helpers.js';

const COUNTER = new URL('../../sinks/test/fixtures/counter-records.mjs', import.meta.url);
const GAPPY = new URL('../../sinks/test/fixtures/gappy-records.mjs', import.meta.url);
const closing: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.allSettled(closing.splice(0).map((c) => c.close()));
});
const keep = <T extends { close(): Promise<unknown> }>(x: T) => (closing.push(x), x);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bytes = (d: DataView) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

describe('Foxglove WebSocket server', { timeout: 60_000 }, () => {
  it('a @foxglove/ws-protocol client receives and decodes every channel at the source rate', async () => {
    const video = keep(await openTestPattern({ width: 160, height: 120, fps: 20, pixelFormat: 'rgb24' }));
    const audio = keep(await openTone({ rate: 16000, channels: 2 }));
    const stats = keep(await openSource(COUNTER, { hz: 25 }));
    const server = keep(await serveFoxglove({ sources: { video, audio, stats: stats as Source }, port: 0 }));
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const { channels, got, seconds } = await collectFoxglove(server.url, 2500);
    const byTopic = Object.fromEntries(channels.map((c) => [c.topic, c]));
    expect(Object.keys(byTopic).sort()).toEqual(['/audio', '/audio/drops', '/audio/events', '/stats', '/stats/drops', '/stats/events', '/video', '/video/drops', '/video/events']);
    expect(byTopic['/video']).toMatchObject({ encoding: 'protobuf', schemaName: 'foxglove.RawImage', schemaEncoding: 'protobuf' });
    expect(byTopic['/audio']).toMatchObject({ encoding: 'protobuf', schemaName: 'foxglove.RawAudio' });
    expect(byTopic['/stats']).toMatchObject({ encoding: 'json', schemaName: 'senseflow.records.stats', schemaEncoding: 'jsonschema' });

    // At the source's rate (generous bounds: the machine is shared).
    const rate = (t: string) => got.get(t)!.length / seconds;
    expect(rate('/video')).toBeGreaterThan(20 * 0.6);
    expect(rate('/video')).toBeLessThan(20 * 1.4);
    expect(rate('/stats')).toBeGreaterThan(25 * 0.6);
    const audioFrames = { n: 0 };

    // Decode with the advertised schemas, as Foxglove does.
    const Raw = protobufFromBinaryDescriptor(Buffer.from(byTopic['/video'].schema, 'base64')).lookupType('foxglove.RawImage');
    const img = Raw.decode(bytes(got.get('/video')!.at(-1)!.data)) as unknown as { width: number; height: number; encoding: string; data: Uint8Array; timestamp: { seconds: unknown; nanos: number } };
    expect(img).toMatchObject({ width: 160, height: 120, encoding: 'rgb8' });
    expect(img.data.byteLength).toBe(160 * 120 * 3);
    const last = got.get('/video')!.at(-1)!;
    expect(BigInt(String(img.timestamp.seconds)) * 1_000_000_000n + BigInt(img.timestamp.nanos)).toBe(last.timestamp); // timestamp = capture time
    const Aud = protobufFromBinaryDescriptor(Buffer.from(byTopic['/audio'].schema, 'base64')).lookupType('foxglove.RawAudio');
    for (const m of got.get('/audio')!) {
      const a = Aud.decode(bytes(m.data)) as unknown as { format: string; sample_rate: number; number_of_channels: number; data: Uint8Array };
      expect(a).toMatchObject({ format: 'pcm-s16', sample_rate: 16000, number_of_channels: 2 });
      audioFrames.n += a.data.byteLength / 4;
    }
    expect(audioFrames.n / seconds).toBeGreaterThan(16000 * 0.6);
    expect(audioFrames.n / seconds).toBeLessThan(16000 * 1.4);
    const rec = JSON.parse(new TextDecoder().decode(bytes(got.get('/stats')!.at(-1)!.data)));
    expect(rec.half).toBe(rec.n / 2);
  });

  it('a slow client gets the newest video (latest-wins) with its losses counted', async () => {
    const video = keep(await openTestPattern({ width: 640, height: 480, fps: 60, pixelFormat: 'rgb24' }));
    const server = keep(await serveFoxglove({ sources: { video }, port: 0, highWaterBytes: 256 * 1024 }));
    // A client that subscribes, then stops reading from its socket.
    const ws = new WebSocket(server.url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
    const client = new FoxgloveClient({ ws: ws as never });
    client.on('advertise', (list) => list.filter((c) => c.topic === '/video').forEach((c) => client.subscribe(c.id)));
    await new Promise<void>((r) => client.on('open', () => r()));
    await sleep(300);
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await sleep(2500);
    const [st] = await server.clientStats();
    expect(st.dropped['/video']).toBeGreaterThan(10);
    expect(st.sent['/video']).toBeGreaterThan(0);
    client.close();
  });

  it('/NAME/drops counts the losses the ring records; /NAME/events carries the source\'s events', async () => {
    // 60 records at 50 Hz; after seq 10 and 30 the "driver" loses 4 and 6 items (seq jumps, counted in the ring).
    const src = keep(await openSource(GAPPY, { hz: 50, count: 60, gaps: { 10: 4, 30: 6 } }, { autoStart: false }));
    const server = keep(await serveFoxglove({ sources: { g: src as Source }, port: 0, dropsIntervalMs: 100 }));
    const collecting = collectFoxglove(server.url, 3500);
    await sleep(500); // subscribed by now: the server reads the ring from here on
    await src.start();
    const { got } = await collecting;
    const json = (t: string) => (got.get(t) ?? []).map((m) => JSON.parse(new TextDecoder().decode(bytes(m.data))) as Record<string, unknown>);
    const records = json('/g');
    expect(records.length).toBe(60); // every committed record, none lost to the server
    expect(records.map((r) => r.n)).toEqual(records.map((r) => r.seq));
    const drops = json('/g/drops');
    expect(drops.length).toBeGreaterThan(0);
    expect(drops.every((d) => d.cause === 'driver')).toBe(true);
    expect(drops.reduce((a, d) => a + (d.count as number), 0)).toBe(10);
    expect(drops.at(-1)!.total).toBe(10);
    expect(json('/g/events').map((e) => e.type)).toContain('started');
  });

  it('bad options are typed errors naming the parameter; maxClients refuses the next client with 503', async () => {
    const video = keep(await openTestPattern({ width: 64, height: 48, fps: 10 }));
    await expect(serveFoxglove({ sources: {} })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'sources' });
    await expect(serveFoxglove({ sources: { video }, port: 70000 })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'port' });
    await expect(serveFoxglove({ sources: { video }, port: 0, maxClients: 0 })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'maxClients' });
    await expect(serveFoxglove({ sources: { video }, port: 0, highWaterBytes: -1 })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'highWaterBytes' });
    const server = keep(await serveFoxglove({ sources: { video }, port: 0, maxClients: 1 }));
    const first = collectFoxglove(server.url, 1500);
    await sleep(500);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(server.url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => (ws.close(), resolve(101)));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(503);
    expect(await server.rejected()).toEqual({ 'too-many-clients': 1 });
    expect((await first).got.get('/video')!.length).toBeGreaterThan(2); // the admitted client was served throughout
    await server.close();
    await expect(server.clientStats()).rejects.toMatchObject({ name: 'InvalidStateError' });
  });

  it('loopback by default; off loopback a token is required and checked', async () => {
    const video = keep(await openTestPattern({ width: 64, height: 48, fps: 10 }));
    await expect(serveFoxglove({ sources: { video }, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'token' });
    const server = keep(await serveFoxglove({ sources: { video }, port: 0, token: 's3cret' }));
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(server.url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(refused).toBe(401);
    expect((await server.rejected()).unauthorized).toBe(1);
    const { got } = await collectFoxglove(`${server.url}/?token=s3cret`, 800);
    expect(got.get('/video')!.length).toBeGreaterThan(2);
  });
});
