// Runs examples/session.mjs as a user would and checks what it made.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const noFfmpeg = spawnSync('sh', ['-c', 'command -v ffmpeg && command -v ffprobe'], { stdio: 'ignore' }).status !== 0 ? 'ffmpeg not installed (apt-get install ffmpeg)' : null;
if (noFfmpeg && process.env.CI) throw new Error(noFfmpeg);

describe('examples/session.mjs', () => {
  it.skipIf(!!noFfmpeg)(`startSession opens, records, starts, stops in order; progress() moves${noFfmpeg ? ` (skipped: ${noFfmpeg})` : ''}`, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sf-example-session-')), 'rec');
    const { stdout } = await promisify(execFile)(process.execPath, [new URL('../session.mjs', import.meta.url).pathname, dir, '2'], { timeout: 90_000 });
    const counts = [...stdout.matchAll(/frameCount (\d+)/g)].map((m) => Number(m[1]));
    expect(counts.length).toBeGreaterThanOrEqual(2);
    expect(counts.at(-1)!).toBeGreaterThan(counts[0]);
    expect(stdout).toMatch(/complete: true/);
    const m = JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8'));
    expect(m.complete).toBe(true);
    const [v, a] = m.streams;
    // Sources started after the recording (nothing captured before the origin is lost): the first frame is near it.
    expect(Number(BigInt(v.firstCaptureNs) - BigInt(m.clock.monotonicNs)) / 1e9).toBeLessThan(1);
    expect(a.frames / 48000).toBeGreaterThan(1.5);
    const frames = Number(spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', join(dir, 'video.mkv')], { encoding: 'utf8' }).stdout);
    expect(frames).toBe(v.items);
  });
});
