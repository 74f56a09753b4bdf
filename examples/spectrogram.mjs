// A live spectrogram of the microphone: N = 4096 windows every 2048 frames, computed in a pool thread and
// delivered in batches; prints each second's loudest frequency per channel, the latency from a window's
// last sample to its delivery, and what was lost (counted, never silent).
// Uses the microphone (ALSA `default`, or SENSEFLOW_MIC) when it opens, otherwise a 440 Hz tone (and says so).
//   node examples/spectrogram.mjs [seconds]
import * as audio from '@senseflow/source-audio';
import { closeSpectrumPool, peaks, spectrum } from '@senseflow/sinks';

const seconds = Number(process.argv[2] ?? 3);
const RATE = 48000;

async function openAudio() {
  if (audio.openMicrophone) {
    try {
      return await audio.openMicrophone({ device: process.env.SENSEFLOW_MIC ?? 'default', rate: RATE, channels: 2 });
    } catch (e) {
      console.log(`microphone: ${e.message} — using a 440 Hz tone`);
    }
  } else console.log('microphone: the ALSA addon is not built — using a 440 Hz tone');
  return audio.openTone({ rate: RATE, channels: 2, frequency: 440 });
}

const mic = await openAudio();
console.log(`audio: ${mic.spec.description}`);
const spec = spectrum(mic, { size: 4096, hop: 2048 });
await spec.ready;

let frames = 0;
let thisSecond = 0;
const latenciesMs = [];
spec.frames$.subscribe((f) => {
  frames++;
  thisSecond++;
  // The window's last sample was captured (size - 1) frames after its first (f.captureNs).
  const lastSampleNs = f.captureNs + BigInt(Math.round(((f.size - 1) / f.rate) * 1e9));
  latenciesMs.push(Number(process.hrtime.bigint() - lastSampleNs) / 1e6);
});
// Once a second, the newest frame (latest(): no queue to drain) and its loudest bin per channel.
const tick = setInterval(() => {
  const f = spec.latest();
  if (!f || thisSecond === 0) return;
  const loudest = f.channels.map((_, c) => peaks(f, { count: 1, channel: c })[0]);
  console.log(`${thisSecond} frames, loudest: ${loudest.map((p, c) => `ch${c} ${p.frequency.toFixed(1)} Hz (${p.value.toFixed(1)} dB)`).join(', ')}`);
  thisSecond = 0;
}, 1000);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(tick);

const s = spec.stats();
latenciesMs.sort((a, b) => a - b);
const pct = (p) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(p * latenciesMs.length))].toFixed(1);
console.log(`frames delivered: ${frames}, computed ${s.computed}, lost ${s.lost}, overwritten ${s.overwritten} (engine ${s.engine})`);
console.log(`worker: ${s.wakes} wake-ups for ${s.computed} hops, ${s.busyMs.toFixed(1)} ms computing; coalesceMs ${spec.options.coalesceMs}`);
console.log(`last sample → delivery: median ${pct(0.5)} ms, max ${pct(1)} ms`);
await spec.close();
await mic.close();
await closeSpectrumPool();
