// Userspace tier: the real addon through the real alsa-lib, with no sound card. The ALSA `file` plugin
// feeds known samples (bit-exact checks); a private PulseAudio's null sink is "what the computer plays".
// Run: bash tools/fixtures/with-userspace-audio.sh pnpm vitest run --project userspace packages/source-audio
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeviceNotFoundError, InvalidOptionError, ItemFlags, SenseflowError, type AudioChunk, type AudioSource } from '@senseflow/core';
import { CapturePcm } from '../src/pcm.js';
import { listAudioDevices, openMicrophone } from '@senseflow/source-audio';
import { afterAll, describe, expect, it } from 'vitest';
import { runSourceConformance } from '@senseflow/core/testing';
import { estimateFrequency, noise, rms, sine, wav } from '../../../tools/fixtures/audio-fixtures.mjs';
import { run } from '../../../tools/fixtures/processes.mjs';

const noAlsaConf = process.env.SENSEFLOW_ALSA_CONF ? '' : 'no senseflow ALSA PCMs; run through tools/fixtures/with-userspace-audio.sh';
const noPulse = process.env.SENSEFLOW_PULSE_SERVER ? '' : 'no private PulseAudio; run through tools/fixtures/with-userspace-audio.sh (needs pulseaudio, pulseaudio-utils, libasound2-plugins)';
if ((noAlsaConf || noPulse) && process.env.CI) throw new Error(noAlsaConf || noPulse);
const MONITOR = process.env.SENSEFLOW_PULSE_MONITOR ?? 'senseflow_null.monitor';
const SINK = process.env.SENSEFLOW_PULSE_SINK ?? 'senseflow_null';

const work = mkdtempSync(join(tmpdir(), 'senseflow-audio-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Opens meant to fail use restart: 'off' — core currently respawns a worker whose open failed, in the background.
const failing = { restart: 'off' } as const;

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Collects chunks (copied) until `frames` frames arrived. */
async function collect(mic: AudioSource, frames: number, timeoutMs = 20_000): Promise<AudioChunk[]> {
  const got: AudioChunk[] = [];
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`only ${total} of ${frames} frames in ${timeoutMs} ms`)), timeoutMs);
    const sub = mic.frames$.subscribe((c) => {
      got.push(c.copy());
      total += c.frames;
      if (total >= frames) {
        clearTimeout(t);
        sub.unsubscribe();
        resolve();
      }
    });
  });
  return got;
}

const shapes = [
  { rate: 16000, channels: 1 },
  { rate: 48000, channels: 2 },
] as const;
const formats = ['s16le', 's32le', 'f32le'] as const;

describe.skipIf(noAlsaConf || noPulse)(`ALSA file plugin, paced by the PulseAudio monitor${noAlsaConf || noPulse ? ` (skipped: ${noAlsaConf || noPulse})` : ''}`, () => {
  for (const { rate, channels } of shapes) {
    for (const format of formats) {
      it(`${rate} Hz ${channels} ch ${format}: the ring holds the file's samples bit for bit, stamped in order`, async () => {
        const seconds = 3;
        const file = join(work, `in-${rate}-${channels}-${format}.raw`);
        const ref = noise({ rate, channels, format, seconds, seed: rate + channels });
        writeFileSync(file, ref);
        await using mic = await openMicrophone({
          device: `senseflow_file_paced:INFILE=${file},SLAVE=pulse:${MONITOR}`,
          rate,
          channels,
          format,
          bufferSecs: 5,
        });
        const chunks = await collect(mic, Math.round(rate * 0.6));
        const block = mic.read(Math.round(rate * 0.6));
        const bpf = channels * (format === 's16le' ? 2 : 4);
        expect(block.startFrame + BigInt(block.frames)).toBeLessThanOrEqual(BigInt(seconds * rate));
        const want = ref.subarray(Number(block.startFrame) * bpf, (Number(block.startFrame) + block.frames) * bpf);
        expect(bytes(block.data).equals(want), 'samples differ from the file').toBe(true);
        // the chunks too: contiguous frame indices, non-decreasing capture times, no loss
        // frames$ starts at the subscription ("now"): capture may already have written a chunk by then.
        let next = chunks[0].startFrame;
        let prevNs = 0n;
        for (const c of chunks) {
          expect(c.startFrame).toBe(next);
          expect(c.captureNs).toBeGreaterThanOrEqual(prevNs);
          expect(c.flags & ItemFlags.DISCONTINUITY).toBe(0);
          next += BigInt(c.frames);
          prevNs = c.captureNs;
        }
        expect(mic.drops().driver).toBe(0);
      });
    }
  }
});

// The capture loop runs in native code for up to 100 ms per call (`debugSliceMs` makes it 800 ms here, so the
// difference is plain): a sleeping frames$ subscriber must still get each chunk as it is committed (the
// ring's WAITERS word sends the native loop back to JavaScript to wake it), and stop() must not wait for the
// slice to end (the worker's mailbox). Without those, both would wait ~400 ms on average for the slice.
describe.skipIf(noAlsaConf || noPulse)(`native capture loop${noAlsaConf || noPulse ? ` (skipped: ${noAlsaConf || noPulse})` : ''}`, () => {
  const SLICE_MS = 800;
  const openLong = (name: string) => {
    const file = join(work, `${name}.raw`);
    writeFileSync(file, noise({ rate: 48000, channels: 2, format: 's16le', seconds: 20, seed: 11 }));
    return openMicrophone({ device: `senseflow_file_paced:INFILE=${file},SLAVE=pulse:${MONITOR}`, rate: 48000, channels: 2, periodFrames: 480, debugSliceMs: SLICE_MS });
  };

  it('a sleeping frames$ subscriber gets each chunk when it is committed, not when the native call ends', async () => {
    await using mic = await openLong('slice-readers');
    const lagMs: number[] = [];
    const seqs: bigint[] = [];
    await new Promise<void>((resolve) => {
      const sub = mic.frames$.subscribe((c) => {
        lagMs.push(Number(process.hrtime.bigint() - c.receiveNs) / 1e6); // from its commit to this subscriber
        seqs.push(c.seq);
        if (lagMs.length >= 100) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] + 1n);
    const median = [...lagMs].sort((a, b) => a - b)[lagMs.length >> 1];
    expect(median, `median delivery lag ${median.toFixed(1)} ms with ${SLICE_MS} ms native calls`).toBeLessThan(SLICE_MS / 8);
  });

  it('stop() and start() are served while the native loop captures (the mailbox cuts its call short)', async () => {
    await using mic = await openLong('slice-control');
    await collect(mic, 4800);
    const took: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(150 + 97 * i); // land at different points of the slice
      const t0 = performance.now();
      await mic.stop();
      took.push(performance.now() - t0);
      await mic.start();
      await collect(mic, 960);
    }
    // Waiting for the slice, 4 of 5 stops under SLICE_MS / 4 would be a 1-in-60 fluke; served at once, they all are.
    expect(took.filter((ms) => ms < SLICE_MS / 4).length, `stop() took ${took.map((ms) => ms.toFixed(0)).join(', ')} ms`).toBeGreaterThanOrEqual(4);
  });
});

// The core conformance suite on the real addon: the ALSA file plugin (30 s of noise, paced by the PulseAudio
// monitor) and PulseAudio itself (the null sink's monitor: what the computer plays).
runSourceConformance('ALSA file plugin (senseflow_file_paced)', {
  open: () => {
    const file = join(work, 'conformance.raw');
    writeFileSync(file, noise({ rate: 16000, channels: 1, format: 's16le', seconds: 30, seed: 7 }));
    return openMicrophone({ device: `senseflow_file_paced:INFILE=${file},SLAVE=pulse:${MONITOR}`, rate: 16000, channels: 1, format: 's16le' });
  },
  kind: 'audio',
  skip: noAlsaConf || noPulse || false,
});
runSourceConformance('PulseAudio (loopback: the null sink monitor)', {
  open: () => openMicrophone({ loopback: true, rate: 48000, channels: 2 }),
  kind: 'audio',
  skip: noPulse || false,
});

describe.skipIf(noPulse)(`loopback: what the computer plays${noPulse ? ` (skipped: ${noPulse})` : ''}`, () => {
  it('opens the monitor of the default sink and recovers a played 1 kHz tone (frequency ±2 Hz, level)', async () => {
    await using mic = await openMicrophone({ loopback: true, rate: 48000, channels: 2 });
    expect(mic.spec.kind === 'audio' && mic.spec.deviceId).toBe(`pulse:${SINK}.monitor`);
    await collect(mic, 480); // the stream is attached: what is played from now on is captured
    const tone = sine({ rate: 48000, channels: 2, format: 's16le', seconds: 1.5, freq: 1000, amplitude: 0.5 });
    const toneWav = join(work, 'tone.wav');
    writeFileSync(toneWav, wav(tone, { rate: 48000, channels: 2, format: 's16le' }));
    const play = await run('paplay', [`--device=${SINK}`, toneWav]);
    expect(play.code, play.stderr).toBe(0);
    await sleep(300);
    const { data } = mic.read(48000 * 3);
    // keep the loud part: the tone (the rest is the null sink's silence)
    const all = data as Int16Array;
    let first = -1;
    let last = -1;
    for (let i = 0; i < all.length; i += 2) if (Math.abs(all[i]) > 1000) (first < 0 && (first = i), (last = i));
    expect(first, 'no tone captured').toBeGreaterThanOrEqual(0);
    const toneFrames = (last - first) / 2;
    expect(toneFrames).toBeGreaterThan(48000); // ≥ 1 s of the 1.5 s tone (the monitor loses the start)
    const part = bytes(all.subarray(first + 2 * 4800, last - 2 * 4800));
    const hz = estimateFrequency(part, { rate: 48000, format: 's16le', channels: 2, channel: 0 });
    expect(Math.abs(hz - 1000)).toBeLessThan(2);
    expect(Math.abs(rms(part, { format: 's16le', channels: 2, channel: 1 }) / (0.5 / Math.SQRT2) - 1)).toBeLessThan(0.02);
  });

  it('without a sound server, loopback fails with a typed error saying what to start', async () => {
    const saved = process.env.PULSE_SERVER;
    process.env.PULSE_SERVER = `unix:${join(work, 'no-such-socket')}`;
    try {
      const err = await openMicrophone({ loopback: true }, failing).then(
        () => null,
        (e: unknown) => e,
      );
      expect(SenseflowError.isInstance(err)).toBe(true);
      expect(err).toBeInstanceOf(DeviceNotFoundError);
      expect((err as Error).message).toMatch(/PulseAudio|PipeWire/);
      expect((err as Error).message).toMatch(/Possible solutions/);
    } finally {
      process.env.PULSE_SERVER = saved;
    }
  });
});

describe.skipIf(noAlsaConf)(`devices and errors${noAlsaConf ? ` (skipped: ${noAlsaConf})` : ''}`, () => {
  it('listAudioDevices() sees senseflow_file (all three formats) and, with a server, pulse and its monitor', async () => {
    const infile = join(work, 'probe.raw');
    writeFileSync(infile, Buffer.alloc(4096));
    process.env.SENSEFLOW_ALSA_INFILE = infile; // the file PCM opens only with an existing infile
    try {
      const list = await listAudioDevices();
      const file = list.find((d) => d.id === 'senseflow_file');
      expect(file, list.map((d) => d.description).join('\n')).toBeDefined();
      expect(file!.kind).toBe('plugin');
      expect(file!.formats).toEqual(['s16le', 's32le', 'f32le']);
      expect(file!.description).toMatch(/senseflow_file — .*ch, .*Hz, s16le\/s32le\/f32le/);
      if (!noPulse) {
        expect(list.find((d) => d.id === 'pulse')?.kind).toBe('plugin');
        const mon = list.find((d) => d.id === `pulse:${MONITOR}`);
        expect(mon?.kind).toBe('monitor');
      }
    } finally {
      delete process.env.SENSEFLOW_ALSA_INFILE;
    }
  });

  it('a device that does not exist is a DeviceNotFoundError (ENODEV), not a crash', async () => {
    const err = await openMicrophone({ device: 'hw:42,0' }, failing).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceNotFoundError);
    expect((err as SenseflowError).code).toBe('ENODEV');
    expect((err as Error).message).toContain('hw:42,0');
  });

  it('a PCM reads straight into shared memory only: a buffer that could be detached under the addon is refused', () => {
    const infile = join(work, 'target.raw');
    const pcmBytes = Buffer.alloc(48000 * 4);
    for (let i = 0; i < pcmBytes.length; i += 2) pcmBytes.writeInt16LE(((i * 31) % 65536) - 32768, i);
    writeFileSync(infile, pcmBytes);
    const pcm = CapturePcm.open({ device: `senseflow_file:INFILE=${infile}`, rate: 48000, channels: 2, format: 's16le', periodFrames: 64, bufferFrames: 4800 });
    try {
      pcm.start();
      expect(() => pcm.read(new Uint8Array(64 * 4 * 8), 0, 64, 50)).toThrow(InvalidOptionError);
      expect(() => pcm.read(new Uint8Array(64 * 4 * 8), 0, 64, 50)).toThrowError(/`mem`/);
      const mem = new Uint8Array(new SharedArrayBuffer(64 * 4 * 9));
      const r = pcm.read(mem, 4, 64, 1000, 64); // at an offset: the target is bound once, the offset is per read
      expect(r.kind).toBe('data');
      expect(r.frames).toBe(64);
      expect(Buffer.from(mem.subarray(4, 4 + 256)).equals(pcmBytes.subarray(0, 256))).toBe(true);
      expect(() => pcm.read(mem, 4 + 8 * 256, 64, 50)).toThrowError(/outside the buffer/);
    } finally {
      pcm.close();
    }
  });

  it('a missing infile names the reason alsa-lib gave', async () => {
    const err = await openMicrophone({ device: `senseflow_file:INFILE=${join(work, 'nope.raw')}` }, failing).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceNotFoundError);
    expect((err as Error).message).toMatch(/nope\.raw/);
  });

  it.skipIf(noPulse)('two workers and the main thread use the addon at once; close() is idempotent and final', async () => {
    const a = await openMicrophone({ device: `pulse:${MONITOR}`, rate: 48000, channels: 2 });
    const b = await openMicrophone({ device: `pulse:${MONITOR}`, rate: 16000, channels: 1, format: 'f32le' });
    const devices = await listAudioDevices({ soundServer: false }); // the main thread's own addon instance
    expect(devices.length).toBeGreaterThan(0);
    const [ca, cb] = await Promise.all([collect(a, 4800), collect(b, 1600)]);
    expect(ca[0].rate).toBe(48000);
    expect(cb[0].format).toBe('f32le');
    await a.close();
    await a.close();
    expect(() => a.read(10)).toThrow(/closed/);
    // b is unaffected by a's close
    await collect(b, 1600);
    await b.close();
  });
});
