// Kernel tier smoke test: every virtual device of the test VM exists and streams.
// Runs INSIDE the VM: `pnpm test:kernel` (or `bash tools/kernel-vm/run-vitest.sh <this file>`).
// Uses the host's tools (v4l2-ctl, ffmpeg, aplay/arecord), which the VM sees unchanged.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { compareAligned, estimateFrequency, frameBytes, sine, wav } from '../../fixtures/audio-fixtures.mjs';
import { background, run, waitFor } from '../../fixtures/processes.mjs';

const missing = process.env.IN_SENSEFLOW_VM ? '' : 'not inside the test VM; run `pnpm test:kernel`';
if (missing && process.env.CI) throw new Error(missing);

const work = mkdtempSync(join(tmpdir(), 'senseflow-devices-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const text = async (cmd: string, args: string[]) => {
  const r = await run(cmd, args);
  expect(r.code, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.toString();
};

/** Number of JPEG start-of-image markers (FF D8 FF); 0xFF never precedes 0xD8 inside entropy data. */
function countJpegs(buf: Buffer) {
  let n = 0;
  for (let at = buf.indexOf(0xff); at >= 0 && at + 2 < buf.length; at = buf.indexOf(0xff, at + 1)) {
    if (buf[at + 1] === 0xd8 && buf[at + 2] === 0xff) n++;
  }
  return n;
}

describe.skipIf(missing)(`kernel devices${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('vivid: /dev/video0 streams 20 full 640x480 YUYV frames', async () => {
    expect(await text('v4l2-ctl', ['-d', '/dev/video0', '--info'])).toMatch(/Driver name\s*:\s*vivid/);
    await text('v4l2-ctl', ['-d', '/dev/video0', '--set-fmt-video=width=640,height=480,pixelformat=YUYV']);
    const out = join(work, 'vivid.yuyv');
    await text('v4l2-ctl', ['-d', '/dev/video0', '--stream-mmap=4', '--stream-count=20', `--stream-to=${out}`]);
    const frameSize = 640 * 480 * 2;
    expect(statSync(out).size).toBe(20 * frameSize);
    // a real picture (colour bars + moving OSD), not a zero-filled buffer, and frames differ
    const data = readFileSync(out);
    const first = data.subarray(0, frameSize);
    const last = data.subarray(19 * frameSize);
    expect(new Set(first.subarray(0, 4096)).size).toBeGreaterThan(8);
    expect(first.equals(last)).toBe(false);
  });

  it('v4l2loopback: /dev/video10 fed MJPEG by ffmpeg yields 10 JPEG frames', async () => {
    const dev = '/dev/video10';
    expect(existsSync(dev), `${dev} missing: was v4l2loopback built by vm-prepare.sh?`).toBe(true);
    expect(await text('v4l2-ctl', ['-d', dev, '--info'])).toMatch(/Driver name\s*:\s*v4l2 loopback/);
    const feeder = background('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15',
      '-c:v', 'mjpeg', '-q:v', '5', '-f', 'v4l2', dev,
    ]);
    try {
      // exclusive_caps=1: the node offers capture only once a writer has set the format
      const ready = await waitFor(async () => (await run('v4l2-ctl', ['-d', dev, '--list-formats'])).stdout.toString().includes("'MJPG'"), {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      expect(ready, `no MJPG capture format appeared; ffmpeg: ${feeder.stderrText()}`).toBe(true);
      const out = join(work, 'loopback.mjpeg');
      await text('v4l2-ctl', ['-d', dev, '--stream-mmap=4', '--stream-count=10', `--stream-to=${out}`]);
      const data = readFileSync(out);
      expect(countJpegs(data)).toBe(10);
      const probe = await text('ffprobe', ['-v', 'error', '-f', 'mjpeg', '-count_frames', '-show_entries', 'stream=width,height,nb_read_frames', '-of', 'csv=p=0', out]);
      expect(probe.trim()).toBe('320,240,10');
    } finally {
      await feeder.stop('SIGTERM');
    }
  });

  it('snd-aloop: hw:Loopback play to capture is bit-exact', async () => {
    const RATE = 48000;
    const FRAME = frameBytes('s16le', 2);
    // 250 ms of trailing silence: snd-aloop garbles ~4 ms (one jiffy) where playback stops
    const tone = sine({ rate: RATE, channels: 2, format: 's16le', seconds: 1, freq: [997, 1499], amplitude: 0.5, padSeconds: 0.25 });
    const toneWav = join(work, 'tone.wav');
    writeFileSync(toneWav, wav(tone, { rate: RATE, channels: 2, format: 's16le' }));
    const out = join(work, 'loopback.raw');
    const rec = background('arecord', ['-q', '-D', 'hw:Loopback,1,0', '-t', 'raw', '-f', 'S16_LE', '-r', String(RATE), '-c', '2', out]);
    // start playing only once the capture substream runs, and stop the capture with SIGINT
    // afterwards: a fixed -d window cuts the tail short when the emulator stalls
    const status = '/proc/asound/Loopback/pcm1c/sub0/status';
    const running = await waitFor(() => existsSync(status) && readFileSync(status, 'utf8').includes('RUNNING'), { timeoutMs: 30_000 });
    expect(running, `capture never started: ${rec.stderrText()}`).toBe(true);
    await text('aplay', ['-q', '-D', 'hw:Loopback,0,0', toneWav]);
    await sleep(300);
    await rec.stop('SIGINT');
    const cap = readFileSync(out);
    const cmp = compareAligned(tone, cap, { frameSize: FRAME });
    expect(cmp.aligned, 'tone not found in the capture').toBe(true);
    expect(cmp.lostStartFrames).toBe(0);
    expect(cmp.coverage).toBe(1);
    expect(cmp.exactFraction).toBe(1);
    const signal = cap.subarray(cmp.capStartFrame! * FRAME, (cmp.capStartFrame! + cmp.frames) * FRAME);
    expect(estimateFrequency(signal, { rate: RATE, channels: 2, channel: 1 })).toBeCloseTo(1499, 0);
  });

  it('snd-dummy: hw:Dummy captures exactly the requested 0.5 s', async () => {
    const out = join(work, 'dummy.raw');
    await text('arecord', ['-q', '-D', 'hw:Dummy,0,0', '-t', 'raw', '-f', 'S16_LE', '-r', '48000', '-c', '2', '-s', '24000', out]);
    expect(statSync(out).size).toBe(24000 * 4);
    expect(await text('cat', ['/proc/asound/cards'])).toMatch(/\]: Dummy - Dummy/);
  });
});
