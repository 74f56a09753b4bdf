// `senseflow record` safety against the real thing: existing data, a second recorder, a read-only and a
// full tmpfs (mounted here; needs root), a killed ffmpeg, an overloaded 1000 fps source, a closed pipe,
// and `senseflow repair` after kill -9. Runs the built binary (packages/cli/dist/bin.js).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '@senseflow/cli';
import { AUDIO_LIMITS } from '@senseflow/source-audio/limits';
import { VIDEO_LIMITS } from '@senseflow/source-video/limits';
import { BIN, run, sleep, start, tmp } from './helpers.js';


const noFfmpeg = spawnSync('sh', ['-c', 'command -v ffmpeg && command -v ffprobe && command -v soxi'], { stdio: 'ignore' }).status !== 0 ? 'ffmpeg/ffprobe/sox not installed (apt-get install ffmpeg sox)' : null;
const notRoot = process.getuid?.() !== 0 ? 'mounting a tmpfs needs root' : null;
if ((noFfmpeg || notRoot) && process.env.CI) throw new Error(noFfmpeg ?? notRoot!);
const why = (...r: (string | null)[]) => (r.some(Boolean) ? ` (skipped: ${r.filter(Boolean).join('; ')})` : '');

async function until(cond: () => boolean, ms = 60_000) {
  for (const end = Date.now() + ms; Date.now() < end && !cond(); ) await sleep(50);
  expect(cond()).toBe(true);
}
/** Video packets a player can read from the file; a file ffmpeg was killed before it wrote a frame holds none. */
const packets = (file: string) => {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const n = Number.parseInt(r.stdout.trim(), 10);
  return Number.isInteger(n) ? n : 0;
};
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8'));
const rows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').length - 1;

const mounts: string[] = [];
function mountTmpfs(opts: string): string {
  const dir = tmp('mnt');
  execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
});

describe('senseflow record never overwrites', { timeout: 120_000 }, () => {
  it('refuses a directory that holds files (exit 2, files untouched); --overwrite records into it', async () => {
    const dir = tmp('exists');
    for (const f of ['audio.wav', 'video.mkv', 'stats.ndjson']) writeFileSync(join(dir, f), 'precious');
    const r = await run(['record', '--audio', 'test', '--duration', '0.5', '--out', dir]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toMatch(/already holds files \(audio\.wav, stats\.ndjson, video\.mkv\); choose another --out or add --overwrite/);
    expect(r.err).not.toMatch(/recording into/); // refused before any device opened
    for (const f of ['audio.wav', 'video.mkv', 'stats.ndjson']) expect(readFileSync(join(dir, f), 'utf8')).toBe('precious');
    const o = await run(['record', '--audio', 'test', '--duration', '0.5', '--overwrite', '--out', dir]);
    expect(o.code, o.err).toBe(0);
    expect(manifest(dir).complete).toBe(true);
  });

  it('a second recorder into the same directory fails at start (exit 4); the first finishes intact', async () => {
    const dir = join(tmp('two'), 's');
    // The first runs until told to stop, so the second surely meets it however slow the machine is.
    const first = start(['record', '--audio', 'test', '--out', dir]);
    await until(() => /audio [\d.]+ s/.test(first.err()));
    const second = await run(['record', '--audio', 'test', '--duration', '1', '--overwrite', '--out', dir]);
    expect(second.code).toBe(ExitCode.busy);
    expect(second.err).toMatch(new RegExp(`is being recorded into by process ${first.child.pid}`));
    first.child.kill('SIGINT');
    expect(await first.done, first.err()).toBe(0);
    const m = manifest(dir);
    expect(m.complete).toBe(true);
    expect(m.streams[0].frames).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'session.lock'))).toBe(false);
  });

  it.skipIf(!!notRoot)(`an existing but unwritable directory (read-only tmpfs) fails before capture, exit 5${why(notRoot)}`, async () => {
    const ro = mountTmpfs('ro,size=1m');
    const r = await run(['record', '--audio', 'test', '--duration', '5', '--out', ro]);
    expect(r.code).toBe(ExitCode.io);
    expect(r.err).toMatch(/cannot write to output directory .*: read-only file system/);
    expect(r.err).not.toMatch(/recording into/);
  });

  it.skipIf(!!noFfmpeg)(`--codec is checked before capture: exit 6 listing the encoders${why(noFfmpeg)}`, async () => {
    const out = join(tmp('codec'), 's');
    const r = await run(['record', '--video', 'test', '--codec', 'bogus', '--duration', '1', '--out', out]);
    expect(r.code).toBe(ExitCode.unsupported);
    expect(r.err).toMatch(/ffmpeg has no video encoder 'bogus'; available: .*libx264/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('senseflow record: write faults are data', { timeout: 120_000 }, () => {
  it.skipIf(!!notRoot || !!noFfmpeg)(`a full 3 MB tmpfs: manifest says who failed and why, no torn lines, no temp file, one message each, summary printed${why(notRoot, noFfmpeg)}`, async () => {
    const dir = join(mountTmpfs('size=3m'), 's');
    // ~0.8 MB/s: raw 160x120 video at 10 fps, 48 kHz stereo audio, stats — the disk fills after ~3 s.
    const r = await run(['record', '--video', 'test', '--size', '160x120', '--fps', '10', '--codec', 'rawvideo', '--audio', 'test', '--stats', '--duration', '6', '--out', dir]);
    expect(r.code).toBe(ExitCode.io);
    expect(r.out).toMatch(/Recorded [\d.]+ s into/); // the summary still comes
    const m = manifest(dir);
    expect(m.complete).toBe(false);
    expect(m.reason).toMatch(/disk full|No space left/);
    const failed = m.streams.filter((s: { error: unknown }) => s.error);
    expect(failed.length).toBeGreaterThan(0);
    for (const s of failed) {
      expect(s.error.message).toMatch(/disk full|No space left/);
      expect(BigInt(s.error.atNs)).toBeGreaterThan(BigInt(m.clock.monotonicNs));
    }
    // What the failed streams could not store from then on is counted (a stream may fail only at its last write).
    expect(failed.some((s: { drops: { io?: number } }) => (s.drops.io ?? 0) > 0)).toBe(true);
    // Each error once on stderr.
    const errors = r.err.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors.length).toBe(new Set(errors).size);
    expect(errors.length).toBeLessThanOrEqual(m.streams.length + 1);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    for (const f of readdirSync(dir).filter((x) => /\.(ndjson|csv)$/.test(x))) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text === '' || text.endsWith('\n'), f).toBe(true);
    }
    // Stored means stored: the container holds what the manifest and sidecar count.
    const v = m.streams.find((s: { name: string }) => s.name === 'video');
    expect(packets(join(dir, 'video.mkv'))).toBe(v.items);
    expect(rows(join(dir, 'video.timestamps.csv'))).toBe(v.items);
  });

  it.skipIf(!!noFfmpeg)(`ffmpeg killed mid-recording: manifest = container, the rest counted, the signal named${why(noFfmpeg)}`, async () => {
    const dir = join(tmp('ffkill'), 's');
    const rec = start(['record', '--video', 'test', '--size', '320x240', '--fps', '30', '--duration', '4', '--out', dir]);
    await until(() => /video [1-9]\d* frames/.test(rec.err()));
    const ffmpeg = execFileSync('pgrep', ['-P', String(rec.child.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n')[0];
    process.kill(Number(ffmpeg), 'SIGKILL');
    expect(await rec.done).toBe(ExitCode.io);
    expect(rec.err()).toMatch(/ffmpeg was killed by SIGKILL/);
    const v = manifest(dir).streams[0];
    expect(v.error.message).toMatch(/SIGKILL/);
    expect(packets(join(dir, 'video.mkv'))).toBe(v.items);
    expect(rows(join(dir, 'video.timestamps.csv'))).toBe(v.items);
    expect(v.drops.io).toBeGreaterThan(0);
  });
});

describe('senseflow record stays in control', { timeout: 120_000 }, () => {
  it.skipIf(!!noFfmpeg)(`at 1000 fps, SIGTERM and --duration stop promptly; the progress line keeps updating${why(noFfmpeg)}`, async () => {
    const dir = join(tmp('fast'), 's');
    const rec = start(['record', '--video', 'test', '--fps', '1000', '--out', dir]);
    // The progress line keeps moving while the source asks for more than the machine can do.
    const counts = () => (rec.err().match(/video (\d+) frames/g) ?? []).map((s) => Number(s.split(' ')[1]));
    await until(() => counts().filter((c) => c > 0).length >= 2 && counts().at(-1)! > counts().find((c) => c > 0)!);
    const t0 = Date.now();
    rec.child.kill('SIGTERM');
    expect(await rec.done).toBe(0);
    // Generous bound (shared machine); before the fix this took ~2 minutes.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(rec.out()).toMatch(/Recorded/);
    const d = join(tmp('fastd'), 's');
    const r = await run(['record', '--video', 'test', '--fps', '1000', '--duration', '1', '--out', d]);
    expect(r.code, r.err).toBe(0);
    const m = manifest(d);
    const last = Number(BigInt(m.streams[0].lastCaptureNs) - BigInt(m.clock.monotonicNs)) / 1e9;
    expect(last).toBeLessThan(2.5);
  });

  it('a closed stdout (| true) is no crash: the recording still finishes', async () => {
    const dir = join(tmp('pipe'), 's');
    const r = spawnSync('bash', ['-c', `node ${BIN} record --audio test --duration 1 --json --out ${dir} | true; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/status 0/);
    expect(r.stderr).not.toMatch(/EPIPE|at .*\.js/);
    expect(manifest(dir).complete).toBe(true);
  });
});

describe('senseflow repair', { timeout: 120_000 }, () => {
  it.skipIf(!!noFfmpeg)(`after kill -9 at 6 s (ffmpeg too): every file valid, manifest rebuilt${why(noFfmpeg)}`, async () => {
    const dir = join(tmp('repair'), 's');
    const rec = start(['record', '--video', 'test', '--size', '320x240', '--audio', 'test', '--stats', '--out', dir], { detached: true });
    await until(() => /audio [1-9][\d.]* s/.test(rec.err()));
    await sleep(6000);
    // ffmpeg runs in a process group of its own: kill it as well (the harshest case — nothing finalizes).
    const ffmpeg = execFileSync('pgrep', ['-P', String(rec.child.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').map(Number);
    process.kill(-rec.child.pid!, 'SIGKILL');
    for (const pid of ffmpeg) process.kill(pid, 'SIGKILL');
    await rec.done;
    expect(manifest(dir).complete).toBe(false);
    const busy = await run(['record', '--audio', 'test', '--duration', '1', '--out', dir]);
    expect(busy.err).toMatch(/senseflow repair/); // the hint for a directory left by a crash
    const r = await run(['repair', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/video +recovered \d+ frames/);
    expect(r.out).toMatch(/audio +recovered [\d.]+ s of audio/);
    const m = manifest(dir);
    expect(m.repaired.report.length).toBe(3);
    const [v, a, s] = m.streams;
    expect(packets(join(dir, 'video.mkv'))).toBe(v.items);
    expect(v.items).toBeGreaterThan(100);
    expect(Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', join(dir, 'video.mkv')]).toString())).toBeGreaterThan(4);
    expect(Number(execFileSync('soxi', ['-D', join(dir, 'audio.wav')]).toString())).toBeCloseTo(a.frames / 48000, 3);
    expect(a.frames / 48000).toBeGreaterThan(5);
    expect(s.items).toBe(readFileSync(join(dir, 'stats.ndjson'), 'utf8').trim().split('\n').length);
    expect(existsSync(join(dir, 'session.lock'))).toBe(false);
  });
});

describe('one table of limits', () => {
  it('the CLI rejects exactly outside the limits the sources export, and says the range', async () => {
    const r = await run(['record', '--audio', 'test', '--rate', String(AUDIO_LIMITS.rate.min - 1)]);
    expect(r.err).toMatch(`--rate expects a whole number from ${AUDIO_LIMITS.rate.min} to ${AUDIO_LIMITS.rate.max}`);
    const s = await run(['record', '--video', 'test', '--size', `${VIDEO_LIMITS.width.max + 1}x480`]);
    expect(s.err).toMatch(`width ${VIDEO_LIMITS.width.min} to ${VIDEO_LIMITS.width.max}`);
    const n = await run(['record', '--video', 'test', '--fps', 'NaN']);
    expect(n.err).toMatch(/--fps expects a number from .* got 'NaN'/);
    const docs = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    const gen = execFileSync(process.execPath, [new URL('../../../scripts/limits-table.mjs', import.meta.url).pathname, '--print'], { encoding: 'utf8' });
    expect(docs).toContain(gen.trim()); // docs/cli.md carries the generated table, current
  });

  it('a --video path that does not exist says so; --size 641x481 warns what is stored', async () => {
    const r = await run(['record', '--video', '/tmp/no-such-file.mp4', '--out', join(tmp('nf'), 's')]);
    expect(r.code).toBe(ExitCode.notFound);
    expect(r.err).toMatch(/no such file: \/tmp\/no-such-file\.mp4/);
    const w = await run(['record', '--video', 'test', '--size', '641x481', '--duration', '0.3', '--out', join(tmp('odd'), 's')]);
    expect(w.err).toMatch(/warning: --size 641x481: the source delivers 642x481/);
  });
});

mkdirSync(tmpdir(), { recursive: true });
