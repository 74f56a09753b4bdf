// A capture session in a few lines: startSession() opens the sources paused, starts the recording, then
// starts the sources together; stop() stops the sources, then the recording, then closes the sources.
// progress() gives recordingTime (elapsedS) and frameCount (items) while it runs.
//   node examples/session.mjs [dir] [seconds]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSession } from '@senseflow/sinks';
import { openTone } from '@senseflow/source-audio';
import { openTestPattern } from '@senseflow/source-video';

const dir = process.argv[2] ?? join(mkdtempSync(join(tmpdir(), 'senseflow-session-')), 'rec');
const seconds = Number(process.argv[3] ?? 2);

const session = await startSession({
  dir,
  sources: {
    video: (host) => openTestPattern({ width: 320, height: 240, fps: 30, pixelFormat: 'yuyv', slots: 60 }, host),
    audio: (host) => openTone({ rate: 48000, channels: 2 }, host),
  },
});
session.recording.events$.subscribe((e) => console.log(e.type === 'error' ? `error in ${e.stream}: ${e.error.message}` : `${e.stream}: ${e.event.type}`));

const ticker = setInterval(() => {
  const { elapsedS, streams } = session.progress(); // recordingTime, frameCount
  console.log(`recordingTime ${elapsedS.toFixed(1)} s, frameCount ${streams.video.items}`);
}, 500);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(ticker);

const manifest = await session.stop();
for (const s of manifest.streams) console.log(`${s.name}: ${s.file} ${s.kind === 'audio' ? `${(s.frames / s.spec.rate).toFixed(2)} s` : `${s.items} frames`}, drops ${JSON.stringify(s.drops)}`);
console.log(`complete: ${manifest.complete}; manifest: ${join(dir, 'session.json')}`);
