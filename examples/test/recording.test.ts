// Runs examples/recording.mjs as a user would and checks what it made.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const noFfmpeg = spawnSync('sh', ['-c', 'command -v ffmpeg && command -v ffprobe'], { stdio: 'ignore' }).status !== 0 ? 'ffmpeg not installed (apt-get install ffmpeg)' : null;
if (noFfmpeg && process.env.CI) throw new Error(noFfmpeg);

describe('examples/recording.mjs', () => {
  it.skipIf(!!noFfmpeg)(`records video, audio (and stats), merges, and writes session.json${noFfmpeg ? ` (skipped: ${noFfmpeg})` : ''}`, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sf-example-')), 'rec');
    const { stdout } = await promisify(execFile)(process.execPath, [new URL('../recording.mjs', import.meta.url).pathname, dir, '2'], { timeout: 90_000 });
    expect(stdout).toMatch(/video: video\.mkv \(ffmpeg:libx264\) \d+ frames/);
    expect(stdout).toMatch(/audio: audio\.wav \(wav\) [\d.]+ s/);
    expect(stdout).toMatch(/merged: .*merged\.mp4/);
    const m = JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8'));
    expect(m.complete).toBe(true);
    expect(m.merged.file).toBe('merged.mp4');
    const frames = Number(
      spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', join(dir, 'video.mkv')], { encoding: 'utf8' }).stdout,
    );
    expect(frames).toBe(m.streams[0].items);
  });
});
