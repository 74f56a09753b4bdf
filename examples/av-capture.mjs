// Camera + microphone as one sensor, like the seeds' combined capture: read() gives the newest frame and
// the last 100 ms of audio together; aligned$ pairs every frame with the audio captured just before it.
// Uses the real camera and microphone when present, otherwise the test pattern and tone (and says so).
//   node examples/av-capture.mjs [seconds]
import { existsSync } from 'node:fs';
import { combine } from '@senseflow/core';
import * as video from '@senseflow/source-video';
import * as audio from '@senseflow/source-audio';

const seconds = Number(process.argv[2] ?? 2);

async function openVideo() {
  if (video.openCamera && existsSync('/dev/video0')) {
    try {
      return await video.openCamera({ width: 640, height: 480, pixelFormat: 'bgr24' });
    } catch (e) {
      console.log(`camera: ${e.message} — using the test pattern`);
    }
  } else console.log('camera: no /dev/video0 — using the test pattern');
  return video.openTestPattern({ width: 640, height: 480, fps: 30, pixelFormat: 'bgr24' });
}
async function openAudio() {
  if (audio.openMicrophone) {
    try {
      return await audio.openMicrophone({ device: process.env.SENSEFLOW_MIC ?? 'default', rate: 48000, channels: 1 });
    } catch (e) {
      console.log(`microphone: ${e.message} — using a 440 Hz tone`);
    }
  }
  return audio.openTone({ rate: 48000, channels: 1, frequency: 440 });
}

const cam = await openVideo();
const mic = await openAudio();
console.log(`video: ${cam.spec.description}\naudio: ${mic.spec.description}`);
const av = combine({ video: cam, audio: mic }, { audioWindowMs: 100 });

let tuples = 0;
let worstSkewMs = 0;
av.aligned$.subscribe(({ video: f, audio: a }) => {
  tuples++;
  if (f && a && a.captureNs !== null) {
    // The audio block ends where the frame was captured: the skew is how far its end is from the frame.
    const endNs = a.captureNs + BigInt(Math.round((a.frames / 48000) * 1e9));
    worstSkewMs = Math.max(worstSkewMs, Math.abs(Number(endNs - f.captureNs)) / 1e6);
  }
});
await new Promise((r) => setTimeout(r, seconds * 1000));
const now = av.read();
console.log(`read(): frame seq ${now.video?.seq} (${now.video?.width}x${now.video?.height}), ${now.audio?.frames} audio frames`);
console.log(`aligned tuples: ${tuples}, worst audio/video skew ${worstSkewMs.toFixed(2)} ms`);
await cam.close();
await mic.close();
