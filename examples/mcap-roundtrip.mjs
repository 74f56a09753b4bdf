// Record a camera-like stream, a microphone-like tone and a custom records sensor into one MCAP file (open
// it in Foxglove or Lichtblick), then replay the file as senseflow sources with the original seq and
// capture times — e.g. to test a control loop offline against a recording. See docs/interop.md.
//   node examples/mcap-roundtrip.mjs [dir] [seconds]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, take, toArray } from 'rxjs';
import { openMcap, readMcapInfo, record } from '@senseflow/sinks';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'senseflow-mcap-'));
const seconds = Number(process.argv[3] ?? 2);

// 1. Record to MCAP: one worker reads every ring and writes session.mcap (chunks closed every ≤ 250 ms).
const stopped = { autoStart: false };
const streams = {
  video: await openTestPattern({ width: 320, height: 240, fps: 15, pixelFormat: 'rgb24', slots: 30 }, stopped),
  audio: await openTone({ rate: 48000, channels: 2 }, stopped),
};
const rec = await record({ dir, streams, format: 'mcap' });
await Promise.all(Object.values(streams).map((s) => s.start()));
await new Promise((r) => setTimeout(r, seconds * 1000));
await Promise.all(Object.values(streams).map((s) => s.stop()));
const manifest = await rec.stop();
await Promise.all(Object.values(streams).map((s) => s.close()));
const file = join(dir, manifest.mcap.file);
console.log(`recorded ${file}`);
const info = await readMcapInfo(file);
for (const c of info.channels) console.log(`  ${c.topic.padEnd(14)} ${String(c.schema?.name).padEnd(24)} ${info.counts.get(c.id) ?? 0n} messages`);

// 2. Replay it: each channel is a Source again, with the recorded seq and capture times.
const replay = await openMcap(file, { pace: 'fast', host: stopped });
const firstFrames = firstValueFrom(replay.sources.video.frames$.pipe(take(3), toArray()));
await replay.sources.video.start();
for (const f of await firstFrames) console.log(`replayed video seq ${f.seq} captured at ${f.captureNs} ns (${f.width}x${f.height} ${f.pixelFormat})`);
await replay.close();
