// Userspace tier: `senseflow record --loopback` and `senseflow demo` against a private PulseAudio
// (run through tools/fixtures/with-userspace-audio.sh, which starts it and sets PULSE_SERVER).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { start } from './helpers.js';

const missing = process.env.SENSEFLOW_PULSE_SERVER ? '' : 'no private PulseAudio; run through tools/fixtures/with-userspace-audio.sh (needs pulseaudio, pulseaudio-utils, libasound2-plugins)';
if (missing && process.env.CI) throw new Error(missing);
const SINK = process.env.SENSEFLOW_PULSE_SINK ?? 'senseflow_null';

function exec(cmd: string, args: string[]): Promise<number | null> {
  return new Promise((r) => spawn(cmd, args, { stdio: 'ignore' }).on('close', r));
}

/** A WAV's s16 samples (header: senseflow's fixed 80-byte layout for 16-bit stereo is parsed, not assumed). */
function wavSamples(file: string): Int16Array {
  const b = readFileSync(file);
  let o = 12;
  while (b.toString('latin1', o, o + 4) !== 'data') o += 8 + b.readUInt32LE(o + 4);
  return new Int16Array(b.buffer, b.byteOffset + o + 8, b.readUInt32LE(o + 4) / 2);
}

describe.skipIf(!!missing)(`senseflow with a sound server${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('record --loopback captures what is played', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sf-cli-loop-')), 's');
    // No --duration: the recording runs until the tone has been played (Ctrl-C below), however long a loaded
    // machine takes to start the player — a fixed duration once ended before most of the tone came.
    const rec = start(['record', '--loopback', '--out', dir]);
    // Once audio is flowing, play 1.5 s of a 1 kHz tone into the default sink.
    for (let i = 0; i < 200 && !/audio [1-9][\d.]* s/.test(rec.err()); i++) await new Promise((r) => setTimeout(r, 50));
    const rate = 48000;
    const pcm = new Int16Array(rate * 1.5 * 2);
    for (let i = 0; i < rate * 1.5; i++) pcm[2 * i] = pcm[2 * i + 1] = Math.round(16000 * Math.sin((2 * Math.PI * 1000 * i) / rate));
    const raw = join(dir, '..', 'tone.raw');
    writeFileSync(raw, Buffer.from(pcm.buffer));
    expect(await exec('pacat', [`--device=${SINK}`, '--format=s16le', '--rate=48000', '--channels=2', raw])).toBe(0);
    // pacat returns once the sink has played it; give the monitor a second to hand the tail to the capture.
    await new Promise((r) => setTimeout(r, 1000));
    rec.child.kill('SIGINT');
    expect(await rec.done, rec.err()).toBe(0);
    expect(rec.out()).toMatch(/audio\.wav/);
    const s = wavSamples(join(dir, 'audio.wav'));
    const loud = s.filter((x) => Math.abs(x) > 8000).length;
    expect(loud / 2).toBeGreaterThan(rate * 0.5); // well over half a second of the tone
  });

  it('demo uses the ALSA default capture when it works, and says so', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sf-cli-demo-')), 'd');
    const demo = start(['demo', '--duration', '1.5', '--out', dir]);
    expect(await demo.done, demo.err()).toBe(0);
    expect(demo.err()).toMatch(/audio: ALSA default capture — /);
    const m = JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8'));
    expect(m.streams[1].kind).toBe('audio');
    expect(m.streams[1].frames).toBeGreaterThan(48000);
  });
});
