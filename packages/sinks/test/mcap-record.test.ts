import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import jpeg from 'jpeg-js';
import { protobufFromBinaryDescriptor } from '@mcap/support';
import { openSource, type Source } from '@senseflow/core';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';
import { openMcapSink, readManifest, record, readMcapInfo, readMcapMessages, type McapMessage } from '@senseflow/sinks';
import { fixture, sleep, tempDir } from './file-helpers.js';

const open: Source[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((s) => s.close()));
});
const keep = <S extends Source>(s: S) => (open.push(s), s);

async function messagesByTopic(file: string): Promise<Map<string, McapMessage[]>> {
  const info = await readMcapInfo(file);
  const topic = new Map(info.channels.map((c) => [c.id, c.topic]));
  const out = new Map<string, McapMessage[]>();
  for await (const m of readMcapMessages(file)) {
    const t = topic.get(m.channelId)!;
    if (!out.has(t)) out.set(t, []);
    out.get(t)!.push(m);
  }
  return out;
}

const csvRows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));

describe('MCAP recording', { timeout: 60_000 }, () => {
  it('record({ format: [files, mcap] }) writes session.mcap: channels, schemas, counts = manifest, log times = capture stamps', async () => {
    const dir = tempDir('mcap');
    const video = keep(await openTestPattern({ width: 160, height: 120, fps: 25, pixelFormat: 'yuyv', slots: 50 }, { autoStart: false }));
    const audio = keep(await openTone({ rate: 48000, channels: 2 }, { autoStart: false }));
    const stats = keep(await openSource(fixture('counter-records.mjs'), { hz: 20 }, { autoStart: false }));
    const rec = await record({ dir, streams: { video, audio, stats }, format: ['files', 'mcap'] });
    await Promise.all([video.start(), audio.start(), stats.start()]);
    await sleep(1500);
    await Promise.all([video.stop(), audio.stop(), stats.stop()]);
    const m = await rec.stop();
    expect(readManifest(dir)).toEqual(m);
    expect(m.mcap).toMatchObject({ file: 'session.mcap', complete: true });

    const file = join(dir, 'session.mcap');
    const info = await readMcapInfo(file);
    expect(info.indexed).toBe(true);
    const byTopic = Object.fromEntries(info.channels.map((c) => [c.topic, c]));
    expect(Object.keys(byTopic).sort()).toEqual(['/audio', '/audio/drops', '/audio/events', '/stats', '/stats/drops', '/stats/events', '/video', '/video/drops', '/video/events']);
    expect(byTopic['/video'].schema).toMatchObject({ name: 'foxglove.RawImage', encoding: 'protobuf' });
    expect(byTopic['/audio'].schema).toMatchObject({ name: 'foxglove.RawAudio', encoding: 'protobuf' });
    expect(byTopic['/stats'].schema).toMatchObject({ name: 'senseflow.records.stats', encoding: 'jsonschema' });
    expect(byTopic['/stats'].messageEncoding).toBe('json');
    // The records schema comes from the field spec.
    const schema = JSON.parse(new TextDecoder().decode(byTopic['/stats'].schema!.data));
    expect(schema.properties.n).toMatchObject({ unit: '1' });
    expect(schema.properties.half).toBeDefined();
    // The manifest is in the file as Metadata, with the same counts.
    const meta = info.metadata.filter((x) => x.name === 'senseflow.session');
    expect(meta.length).toBe(2);
    expect(JSON.parse(meta[1].metadata.get('manifest')!).streams.map((s: { items: number }) => s.items)).toEqual(m.streams.map((s) => s.items));

    const msgs = await messagesByTopic(file);
    for (const s of m.streams) {
      const list = msgs.get(`/${s.name}`)!;
      // Message count = the manifest's, for the MCAP file and for the per-stream files alike.
      expect(Number(info.counts.get(byTopic[`/${s.name}`].id))).toBe(m.mcap!.streams[s.name].messages);
      expect(list.length).toBe(m.mcap!.streams[s.name].messages);
      expect(list.length).toBe(s.items);
      expect(list.length).toBeGreaterThan(5);
      // log time = capture time, publish time = receive time, sequence = seq: the same rows as the sidecar.
      const rows = csvRows(join(dir, s.timestamps));
      const seqCol = s.kind === 'video' ? 1 : 0;
      const capCol = s.kind === 'video' ? 2 : s.kind === 'audio' ? 3 : 1;
      const recCol = capCol + 1;
      expect(list.map((x) => [String(x.sequence), String(x.logTime), String(x.publishTime)])).toEqual(rows.map((r) => [r[seqCol], r[capCol], r[recCol]]));
      for (let i = 1; i < list.length; i++) expect(list[i].logTime).toBeGreaterThanOrEqual(list[i - 1].logTime);
      expect(String(list[0].logTime)).toBe(s.firstCaptureNs);
      expect(String(list.at(-1)!.logTime)).toBe(s.lastCaptureNs);
    }

    // Video decodes as Foxglove's RawImage; audio as RawAudio with exactly the WAV's samples.
    const raw = protobufFromBinaryDescriptor(byTopic['/video'].schema!.data).lookupType('foxglove.RawImage');
    const img = raw.toObject(raw.decode(msgs.get('/video')![3].data), { longs: String }) as Record<string, unknown>;
    expect(img).toMatchObject({ width: 160, height: 120, encoding: 'yuyv', step: 320, frame_id: 'video' });
    expect((img.data as Uint8Array).byteLength).toBe(160 * 120 * 2);
    expect(img.timestamp).toEqual({ seconds: String(msgs.get('/video')![3].logTime / 1_000_000_000n), nanos: Number(msgs.get('/video')![3].logTime % 1_000_000_000n) });
    const ra = protobufFromBinaryDescriptor(byTopic['/audio'].schema!.data).lookupType('foxglove.RawAudio');
    const pcm: Buffer[] = [];
    for (const x of msgs.get('/audio')!) {
      const a = ra.decode(x.data) as unknown as { format: string; sample_rate: number; number_of_channels: number; data: Uint8Array };
      expect(a).toMatchObject({ format: 'pcm-s16', sample_rate: 48000, number_of_channels: 2 });
      pcm.push(Buffer.from(a.data));
    }
    const wav = readFileSync(join(dir, 'audio.wav'));
    const dataAt = wav.indexOf('data') + 8;
    const all = Buffer.concat(pcm);
    expect(all.length).toBe(wav.length - dataAt);
    expect(all.equals(wav.subarray(dataAt))).toBe(true);
    // Records: JSON with named fields.
    const r0 = JSON.parse(new TextDecoder().decode(msgs.get('/stats')![0].data));
    expect(r0.half).toBe(r0.n / 2);
  });

  it('MJPEG is stored as captured (CompressedImage), decodable, and format mcap alone writes only session.mcap', async () => {
    const tmp = tempDir('mcap-jpeg');
    const dir = join(tmp, 's'); // the session directory must be new or empty
    const pic = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 90 } } }).jpeg().toBuffer();
    writeFileSync(join(tmp, 'frame.jpg'), pic);
    const cam = keep(await openSource(fixture('jpeg-source.mjs'), { file: join(tmp, 'frame.jpg'), frames: 15, fps: 20 }, { autoStart: false }));
    const rec = await record({ dir, streams: { cam }, format: 'mcap' });
    await cam.start();
    await sleep(1200);
    await cam.stop();
    const m = await rec.stop();
    expect(m.streams[0]).toMatchObject({ name: 'cam', file: 'session.mcap', items: 15, storage: 'mcap:foxglove.CompressedImage' });
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).sort()).toEqual(['session.json', 'session.mcap']);
    const info = await readMcapInfo(join(dir, 'session.mcap'));
    const ch = info.channels.find((c) => c.topic === '/cam')!;
    const T = protobufFromBinaryDescriptor(ch.schema!.data).lookupType('foxglove.CompressedImage');
    let n = 0;
    for await (const msg of readMcapMessages(join(dir, 'session.mcap'), ['/cam'])) {
      const im = T.decode(msg.data) as unknown as { format: string; data: Uint8Array };
      expect(im.format).toBe('jpeg');
      expect(Buffer.from(im.data).equals(pic)).toBe(true); // byte for byte as captured
      const px = jpeg.decode(im.data);
      expect([px.width, px.height]).toEqual([64, 48]);
      n++;
    }
    expect(n).toBe(15);
  });

  it('a file that cannot be written (disk full: /dev/full) is an IOError event; items are counted as io drops, capture goes on', async () => {
    const stats = keep(await openSource(fixture('counter-records.mjs'), { hz: 50 }, { autoStart: false }));
    const sink = await openMcapSink({ stats }, { file: '/dev/full' });
    const errors: unknown[] = [];
    sink.errors$.subscribe((e) => errors.push(e));
    await stats.start();
    await sleep(600);
    await stats.stop();
    const s = await sink.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'EIO', message: expect.stringMatching(/disk full/) });
    expect(s).toMatchObject({ complete: false, error: { code: 'EIO' } });
    expect(s.streams.stats.items).toBe(0);
    expect(s.streams.stats.drops.io).toBeGreaterThan(10);
    expect(stats.latest()!.seq).toBeGreaterThan(10n);
  });

  it('rejects bad options with typed errors naming the parameter', async () => {
    const dir = tempDir('mcap-bad');
    const video = keep(await openTestPattern({ width: 64, height: 48, fps: 5 }, { autoStart: false }));
    await expect(record({ dir, streams: { video }, format: 'mp4' as never })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'format' });
    await expect(openMcapSink({ video }, { file: join(dir, 'x.mcap'), chunkMs: 5000 })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'chunkMs' });
    const odd = { ring: video.ring, spec: { ...video.spec, pixelFormat: 'yu12' } };
    await expect(openMcapSink({ video: odd }, { file: join(dir, 'y.mcap') })).rejects.toMatchObject({ code: 'EUNSUPPORTED' });
  });
});
