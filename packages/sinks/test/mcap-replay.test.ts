import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray, timeout } from 'rxjs';
import sharp from 'sharp';
import { McapWriter } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';
import { CompressedImage, RawAudio } from '@foxglove/schemas/jsonschema';
import { openSource, type AudioChunk, type RecordItem, type Source, type SourceItem, type VideoFrame } from '@senseflow/core';
import { runSourceConformance } from '@senseflow/core/testing';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';
import { openMcap, readMcapInfo, readMcapMessages, record, type McapReplay } from '@senseflow/sinks';
import { fixture, sleep, tempDir } from './file-helpers.js';

/** One short senseflow recording (video, audio, records) to MCAP, made once for the whole file. */
let recording: Promise<string> | null = null;
function recorded(): Promise<string> {
  recording ??= (async () => {
    const dir = tempDir('mcap-replay');
    const host = { autoStart: false };
    const video = await openTestPattern({ width: 160, height: 120, fps: 20, pixelFormat: 'rgb24', slots: 40 }, host);
    const audio = await openTone({ rate: 16000, channels: 1 }, host);
    const stats = await openSource(fixture('counter-records.mjs'), { hz: 20 }, host);
    const rec = await record({ dir, streams: { video, audio, stats }, format: 'mcap' });
    await Promise.all([video.start(), audio.start(), stats.start()]);
    await sleep(1200);
    await Promise.all([video.stop(), audio.stop(), stats.stop()]);
    await rec.stop();
    await Promise.all([video.close(), audio.close(), stats.close()]);
    return join(dir, 'session.mcap');
  })();
  return recording;
}

const replays: McapReplay[] = [];
afterAll(async () => {
  await Promise.allSettled(replays.map((r) => r.close()));
});

async function replayed(file: string, opts: Parameters<typeof openMcap>[1]): Promise<McapReplay> {
  const r = await openMcap(file, opts);
  replays.push(r);
  return r;
}

/** The recorded (sequence, log time) of every message of a topic. */
async function original(file: string, topic: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const m of readMcapMessages(file, [topic])) out.push([String(m.sequence), String(m.logTime)]);
  return out;
}

const collect = <I extends SourceItem>(s: Source, n: number) =>
  firstValueFrom((s as unknown as Source<I>).frames$.pipe(take(n), toArray(), timeout(60_000)));

describe('MCAP replay', { timeout: 150_000 }, () => {
  it('openMcap replays every channel with the original seq and capture times (fast pace)', async () => {
    const file = await recorded();
    const r = await replayed(file, { pace: 'fast', host: { autoStart: false } });
    expect(Object.keys(r.sources).sort()).toEqual(['audio', 'stats', 'video']);
    expect(r.sources.video.spec).toMatchObject({ kind: 'video', width: 160, height: 120, pixelFormat: 'rgb24' });
    const want = { video: await original(file, '/video'), stats: await original(file, '/stats'), audio: await original(file, '/audio') };
    // Subscribe before starting: the rings are large enough to hold everything (fast pace overruns nobody here).
    const got = {
      video: collect<VideoFrame>(r.sources.video, want.video.length),
      stats: collect<RecordItem>(r.sources.stats, want.stats.length),
      audio: collect<AudioChunk>(r.sources.audio, want.audio.length),
    };
    await Promise.all(Object.values(r.sources).map((s) => s.start()));
    const video = await got.video;
    expect(video.map((f) => [String(f.seq), String(f.captureNs)])).toEqual(want.video);
    expect(video[0].data.byteLength).toBe(160 * 120 * 3);
    const stats = await got.stats;
    expect(stats.map((x) => [String(x.seq), String(x.captureNs)])).toEqual(want.stats);
    expect(stats[3].get('half')).toBe(stats[3].get('n') / 2);
    // Audio chunks: capture times as recorded (the sample ring numbers its chunks itself).
    const audio = await got.audio;
    expect(audio.map((c) => String(c.captureNs))).toEqual(want.audio.map((w) => w[1]));
  });

  it('realtime pace keeps the original spacing between items', async () => {
    const file = await recorded();
    const r = await replayed(file, { pace: 'realtime', topics: ['/stats'], host: { autoStart: false } });
    const s = r.sources.stats;
    const arrivals: bigint[] = [];
    const got = firstValueFrom(s.frames$.pipe(take(15), toArray(), timeout(60_000)));
    s.frames$.pipe(take(15)).subscribe(() => arrivals.push(process.hrtime.bigint()));
    await s.start();
    const items = await got;
    const recordedSpan = Number(items.at(-1)!.captureNs - items[0].captureNs) / 1e6;
    const replaySpan = Number(arrivals.at(-1)! - arrivals[0]) / 1e6;
    // Generous bounds (the machine is shared): the replay took about as long as the original.
    expect(replaySpan).toBeGreaterThan(recordedSpan * 0.7);
    expect(replaySpan).toBeLessThan(recordedSpan * 1.5 + 300);
  });

  it('replays a Foxglove-schema MCAP written by another writer (@mcap/core, JSON encoding, no sequence)', async () => {
    const dir = tempDir('mcap-foreign');
    const file = join(dir, 'other.mcap');
    const fh = await openFile(file, 'w');
    const w = new McapWriter({ writable: new FileHandleWritable(fh) });
    await w.start({ profile: '', library: 'test' });
    const enc = new TextEncoder();
    const img = await w.registerSchema({ name: 'foxglove.CompressedImage', encoding: 'jsonschema', data: enc.encode(JSON.stringify(CompressedImage)) });
    const aud = await w.registerSchema({ name: 'foxglove.RawAudio', encoding: 'jsonschema', data: enc.encode(JSON.stringify(RawAudio)) });
    const cam = await w.registerChannel({ topic: '/camera/front', schemaId: img, messageEncoding: 'json', metadata: new Map() });
    const mic = await w.registerChannel({ topic: '/mic', schemaId: aud, messageEncoding: 'json', metadata: new Map() });
    const imu = await w.registerChannel({ topic: '/imu', schemaId: 0, messageEncoding: 'json', metadata: new Map() });
    const jpg = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 10, g: 200, b: 10 } } }).jpeg().toBuffer();
    const t0 = 1_700_000_000_000_000_000n; // wall-clock log times, as most writers use
    for (let i = 0; i < 10; i++) {
      const t = t0 + BigInt(i) * 50_000_000n;
      const stamp = { sec: Number(t / 1_000_000_000n), nsec: Number(t % 1_000_000_000n) };
      await w.addMessage({ channelId: cam, sequence: 0, logTime: t, publishTime: t, data: enc.encode(JSON.stringify({ timestamp: stamp, frame_id: 'front', format: 'jpeg', data: jpg.toString('base64') })) });
      const pcm = Buffer.alloc(800 * 2 * 2, i);
      await w.addMessage({ channelId: mic, sequence: 0, logTime: t, publishTime: t, data: enc.encode(JSON.stringify({ timestamp: stamp, format: 'pcm-s16', sample_rate: 16000, number_of_channels: 2, data: pcm.toString('base64') })) });
      await w.addMessage({ channelId: imu, sequence: 0, logTime: t, publishTime: t, data: enc.encode(JSON.stringify({ ax: i, ay: i / 2, label: 'x' })) });
    }
    await w.end();
    await fh.close();
    expect((await readMcapInfo(file)).indexed).toBe(true);

    const r = await replayed(file, { pace: 'fast', host: { autoStart: false } });
    expect(r.topics).toEqual({ 'camera/front': '/camera/front', mic: '/mic', imu: '/imu' });
    expect(r.sources['camera/front'].spec).toMatchObject({ kind: 'video', width: 32, height: 24, pixelFormat: 'mjpeg' });
    expect(r.sources.mic.spec).toMatchObject({ kind: 'audio', rate: 16000, channels: 2, format: 's16le', periodFrames: 800 });
    expect(r.sources.imu.spec).toMatchObject({ kind: 'records', fields: [{ name: 'ax' }, { name: 'ay' }] });
    const got = {
      cam: collect<VideoFrame>(r.sources['camera/front'], 10),
      mic: collect<AudioChunk>(r.sources.mic, 10),
      imu: collect<RecordItem>(r.sources.imu, 10),
    };
    await Promise.all(Object.values(r.sources).map((s) => s.start()));
    const cams = await got.cam;
    expect(cams.map((f) => f.captureNs - t0)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i) * 50_000_000n));
    expect(cams.map((f) => f.seq)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i))); // no sequence in the file: numbered in order
    expect(Buffer.from(cams[4].data).equals(jpg)).toBe(true);
    const mics = await got.mic;
    expect(mics.map((c) => c.frames)).toEqual(Array(10).fill(800));
    expect(mics[3].data[0]).toBe(3 * 256 + 3);
    const imus = await got.imu;
    expect(imus.map((x) => x.toObject())).toEqual(Array.from({ length: 10 }, (_, i) => ({ ax: i, ay: i / 2 })));
  });

  it('a missing topic or file is a typed error naming what exists', async () => {
    const file = await recorded();
    await expect(openSource(new URL('../dist/mcap-source.js', import.meta.url), { file, topic: '/nope' })).rejects.toMatchObject({ code: 'ENODEV', message: expect.stringContaining('/video') });
    await expect(openMcap(join(tempDir('none'), 'missing.mcap'))).rejects.toMatchObject({ code: 'EIO' });
    await expect(openSource(new URL('../dist/mcap-source.js', import.meta.url), { file, topic: '/video', pace: 'slow' })).rejects.toMatchObject({ code: 'EINVAL', parameter: 'pace' });
  });
});

// The conformance suite against each kind of replayed stream (looping, so it never runs dry).
for (const topic of ['video', 'audio', 'stats'] as const) {
  runSourceConformance(`mcap replay ${topic}`, {
    open: async () => (await replayed(await recorded(), { pace: 'realtime', loop: true, topics: [`/${topic}`] })).sources[topic],
    kind: topic === 'stats' ? 'records' : topic,
  });
}
