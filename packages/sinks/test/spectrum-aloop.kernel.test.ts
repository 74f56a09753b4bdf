// Kernel tier: the spectrum of audio captured from a real kernel driver, snd-aloop, inside the test VM.
// aplay plays a two-tone file (left 1 kHz, right 3 kHz) into hw:Loopback,0,1; the ALSA source captures
// hw:Loopback,1,1; the spectrum worker reads that source's ring.
// Run: bash tools/kernel-vm/run-vitest.sh packages/sinks/test/spectrum-aloop.kernel.test.ts
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, filter, map, skip, take, toArray, timeout } from 'rxjs';
import { openMicrophone } from '@senseflow/source-audio';
import { closeSpectrumPool, peaks, spectrum } from '@senseflow/sinks';
import { afterAll, describe, expect, it } from 'vitest';
import { background } from '../../../tools/fixtures/processes.mjs';

const missing = !process.env.IN_SENSEFLOW_VM
  ? 'not inside the test VM; run `bash tools/kernel-vm/run-vitest.sh`'
  : !existsSync('/proc/asound/Loopback')
    ? 'snd-aloop is not loaded in the VM'
    : '';
if (missing && process.env.CI) throw new Error(missing);

const RATE = 48000;
const work = mkdtempSync(join(tmpdir(), 'senseflow-spectrum-aloop-'));
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await closeSpectrumPool();
});

function twoTones(seconds: number): string {
  const n = RATE * seconds;
  const s = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    s[2 * i] = Math.round(16384 * Math.sin((2 * Math.PI * 1000 * i) / RATE));
    s[2 * i + 1] = Math.round(8192 * Math.sin((2 * Math.PI * 3000 * i) / RATE));
  }
  const file = join(work, 'tones.raw');
  writeFileSync(file, Buffer.from(s.buffer));
  return file;
}

describe.skipIf(missing)(`spectrum of snd-aloop capture${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('finds the played tones per channel, in hop-aligned frames with increasing capture times', async () => {
    const file = twoTones(20);
    // Under TCG everything is ~15× slower: a deep device buffer and a long open budget.
    await using mic = await openMicrophone(
      { device: 'hw:Loopback,1,1', rate: RATE, channels: 2, format: 's16le', deviceBufferMs: 2000 },
      { requestTimeoutMs: 120_000 },
    );
    const size = 4096;
    const hop = 2048;
    await using spec = spectrum(mic, { size, hop });
    await spec.ready;
    const player = background('aplay', ['-q', '-D', 'hw:Loopback,0,1', '-t', 'raw', '-f', 'S16_LE', '-r', String(RATE), '-c', '2', file]);
    try {
      // Frames whose window is all tone: after the first one that hears it, skip the (at most size/hop = 2)
      // windows that straddle the start of playback.
      const frames = await firstValueFrom(
        spec.frames$.pipe(
          filter((f) => f.channel(0)[Math.round((1000 * size) / RATE)] > -40),
          skip(2),
          take(6),
          map((f) => f.copy()), // frames are views valid during the callback
          toArray(),
          timeout(90_000),
        ),
      );
      let prev: bigint | null = null;
      for (const f of frames) {
        expect(f.startFrame).toBe(f.seq * BigInt(hop));
        const [l] = peaks(f, { count: 1, channel: 0 });
        const [r] = peaks(f, { count: 1, channel: 1 });
        expect(Math.abs(l.frequency - 1000)).toBeLessThan(RATE / size);
        expect(Math.abs(r.frequency - 3000)).toBeLessThan(RATE / size);
        expect(l.value).toBeCloseTo(-6, 0);
        expect(r.value).toBeCloseTo(-12, 0);
        if (prev !== null) expect(f.captureNs).toBeGreaterThan(prev);
        prev = f.captureNs;
      }
    } finally {
      await player.stop('SIGTERM');
    }
  });
});
