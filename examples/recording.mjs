// Record video, audio and system stats into one session directory, then merge video + audio into one
// MP4 aligned by capture time. Each stream is written by a worker of its own straight from its ring.
// Uses the test pattern and tone (plus real system stats when @senseflow/source-sysstats is built).
//   node examples/recording.mjs [dir] [seconds]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { merge, record } from '@senseflow/sinks';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'senseflow-recording-'));
const seconds = Number(process.argv[3] ?? 3);

// Open the sources stopped, so every stream starts together once the sinks are ready.
const stopped = { autoStart: false };
const streams = {
  video: await openTestPattern({ width: 640, height: 480, fps: 30, pixelFormat: 'yuyv', slots: 60 }, stopped),
  audio: await openTone({ rate: 48000, channels: 2, frequency: 440 }, stopped),
};
try {
  const { openSysStats } = await import('@senseflow/source-sysstats');
  streams.stats = await openSysStats({ hz: 10 }, stopped);
} catch (e) {
  console.log(`stats: skipped (${e.message.split('\n')[0]})`);
}

const rec = await record({ dir, streams });
// Write errors (disk full, …; capture goes on) and source events (crash, restart, stall, …), once each.
rec.events$.subscribe((e) => console.log(e.type === 'error' ? `error in ${e.stream}: ${e.error.message}` : `${e.stream}: source ${e.event.type}`));
await Promise.all(Object.values(streams).map((s) => s.start()));
await new Promise((r) => setTimeout(r, seconds * 1000));

// Stop the sources first, then the recording stores what the rings still hold and finalizes the files.
await Promise.all(Object.values(streams).map((s) => s.stop()));
const manifest = await rec.stop();
for (const s of manifest.streams) {
  const amount = s.kind === 'audio' ? `${(s.frames / s.spec.rate).toFixed(2)} s` : `${s.items} ${s.kind === 'video' ? 'frames' : 'records'}`;
  console.log(`${s.name}: ${s.file} (${s.storage}) ${amount}, drops ${JSON.stringify(s.drops)}`);
}

const merged = await merge(dir, { latencyBias: 0, onProgress: (p) => p.fraction === 1 && console.log('merge: done') });
console.log(`merged: ${join(dir, merged.file)}`);
console.log(`manifest: ${join(dir, 'session.json')}`);
await Promise.all(Object.values(streams).map((s) => s.close()));
