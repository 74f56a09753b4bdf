// Runs the built `senseflow` binary (packages/cli/dist/bin.js: `pnpm --filter @senseflow/cli... build` first).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceHolders, ExitCode } from '@senseflow/cli';
import { BIN, run, tmp } from './helpers.js';


const noFfmpeg = spawnSync('sh', ['-c', 'command -v ffmpeg && command -v ffprobe'], { stdio: 'ignore' }).status !== 0 ? 'ffmpeg/ffprobe not installed (apt-get install ffmpeg)' : null;
if (noFfmpeg && process.env.CI) throw new Error(noFfmpeg);
const why = noFfmpeg ? ` (skipped: ${noFfmpeg})` : '';

function packets(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('senseflow: help and command-line errors', { timeout: 120_000 }, () => {
  it('help lists the commands and the exit codes', async () => {
    const r = await run(['help']);
    expect(r.code).toBe(0);
    for (const c of ['demo', 'record', 'devices']) expect(r.out).toContain(c);
    expect(r.out).toMatch(/Exit codes: 0 ok/);
  });

  it('no command prints help and exits 2; --version prints the version', async () => {
    expect((await run([])).code).toBe(ExitCode.usage);
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^senseflow \d+\.\d+\.\d+/);
  });

  it('each command has --help', async () => {
    for (const [cmd, flag] of [['record', '--pixel-format'], ['demo', '--duration'], ['devices', '--json']]) {
      const r = await run([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(flag);
    }
  });

  const bad: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['record'], /nothing to record/],
    [['record', '--bogus'], /unknown flag --bogus for 'senseflow record'/],
    [['record', '--video'], /--video needs a value/],
    [['record', '--video', 'test', '--size', '12x'], /--size expects WIDTHxHEIGHT/],
    [['record', '--video', 'test', '--fps', 'fast'], /--fps expects a number/],
    [['record', '--video', 'test', '--duration=-1'], /--duration expects a number > 0/],
    [['record', '--video', 'test', '--duration', '-1'], /--duration got a value that looks like a flag; write it as --duration=VALUE/],
    [['record', '--fps', '30', '--audio', 'test'], /apply to video: add --video/],
    [['record', '--codec', 'libx265', '--audio', 'test'], /apply to video: add --video/],
    [['record', '--video', 'test', '--codec', 'x;rm'], /--codec expects an ffmpeg encoder name/],
    [['record', '--video', 'test', '--rate', '44100'], /apply to audio/],
    [['record', '--audio', 'test', '--channels', '0'], /--channels expects a whole number/],
    [['record', '--audio', 'test', '--loopback'], /use one/],
    [['record', '--video', 'test', '--stats-hz', '5'], /--stats-hz applies to --stats/],
    [['record', '--video', 'test', '--merge'], /--merge needs both video/],
    [['devices', 'extra'], /unexpected argument/],
    [['record', '--video', 'test', '--pixel-format', 'mjpeg', '--duration', '1', '--out', join(tmpdir(), `sf-cli-pf-${process.pid}`)], /expected one of .* for --pixel-format but received 'mjpeg'/],
    [['demo', '--duration', 'x'], /--duration expects a number/],
  ];
  it.each(bad)('senseflow %j → exit 2 with one clear line', async (args, msg) => {
    const r = await run(args);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toMatch(msg);
    expect(r.err.split('\n')[0]).toMatch(/^senseflow: /);
    expect(r.out).toBe('');
  });

  it('a missing camera exits 3, says what is there, and leaves no empty session directory', async () => {
    const out = join(tmp('nodev'), 's');
    const r = await run(['record', '--video', '/dev/video99', '--out', out]);
    expect(r.code).toBe(ExitCode.notFound);
    expect(r.err).toMatch(/no such camera: \/dev\/video99/);
    expect(existsSync(out)).toBe(false);
  });

  it('an unwritable output directory exits 5', async () => {
    const r = await run(['record', '--audio', 'test', '--duration', '1', '--out', '/proc/senseflow-test/out']);
    expect(r.code).toBe(ExitCode.io);
    expect(r.err).toMatch(/cannot create output directory \/proc\/senseflow-test\/out/);
  });

  it('refuses to record over an existing session', async () => {
    const dir = tmp('twice');
    expect((await run(['record', '--audio', 'test', '--duration', '0.5', '--out', dir])).code).toBe(0);
    const r = await run(['record', '--audio', 'test', '--duration', '0.5', '--out', dir]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toMatch(/already holds a recording/);
  });
});

describe('senseflow record', { timeout: 120_000 }, () => {
  it.skipIf(!!noFfmpeg)(`records test video, tone and stats; --merge; --json prints session.json${why}`, async () => {
    const dir = join(tmp('rec'), 'session');
    const r = await run(['record', '--video', 'test', '--audio', 'test', '--stats', '--stats-hz', '5', '--duration', '2', '--merge', '--json', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/error/i);
    const m = JSON.parse(r.out);
    expect(m).toEqual(JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8')));
    expect(m).toMatchObject({ version: 1, complete: true, merged: { file: 'merged.mp4', video: 'video', audio: 'audio', latencyBias: 0 } });
    expect(m.streams.map((s: { name: string; kind: string }) => `${s.name}:${s.kind}`)).toEqual(['video:video', 'audio:audio', 'stats:records']);
    const [v, a, s] = m.streams;
    expect(packets(join(dir, 'video.mkv'))).toBe(v.items);
    expect(v.items).toBeGreaterThan(20);
    expect(a.frames / 48000).toBeGreaterThan(1.5);
    expect(s.spec.rate).toBe(5);
    expect(s.items).toBeGreaterThanOrEqual(5);
    expect(existsSync(join(dir, 'merged.mp4'))).toBe(true);
    // Progress lines (not a TTY: plain lines) went to stderr.
    expect(r.err).toMatch(/video \d+ frames {2}· {2}audio [\d.]+ s/);
  });

  it.skipIf(!!noFfmpeg)(`--size --fps --pixel-format --rate --channels shape the streams; the summary says where things went${why}`, async () => {
    const dir = join(tmp('shape'), 's');
    const r = await run(['record', '--video', 'test', '--size', '320x240', '--fps', '15', '--pixel-format', 'rgb24', '--codec', 'ffv1', '--audio', 'test', '--rate', '16000', '--channels', '1', '--duration', '1.5', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8'));
    expect(m.streams[0].spec).toMatchObject({ width: 320, height: 240, fps: 15, pixelFormat: 'rgb24' });
    expect(m.streams[0].storage).toBe('ffmpeg:ffv1');
    expect(packets(join(dir, 'video.mkv'))).toBe(m.streams[0].items);
    expect(m.streams[1].spec).toMatchObject({ rate: 16000, channels: 1 });
    expect(r.out).toContain(`Recorded`);
    expect(r.out).toContain('video.mkv');
    expect(r.out).toContain('encoded with ffv1');
    expect(r.out).toContain('audio.wav');
    expect(r.out).toContain('session.json');
  });

  it.skipIf(!!noFfmpeg)(`--video FILE reads it through ffmpeg and records it${why}`, async () => {
    const work = tmp('file');
    const input = join(work, 'in.mkv');
    spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '4', '-c:v', 'mjpeg', input]);
    const r = await run(['record', '--video', input, '--duration', '1.5', '--out', join(work, 's')]);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(readFileSync(join(work, 's', 'session.json'), 'utf8'));
    expect(m.streams[0].spec).toMatchObject({ width: 320, height: 240 });
    expect(m.streams[0].items).toBeGreaterThan(10);
    expect(packets(join(work, 's', 'video.mkv'))).toBe(m.streams[0].items);
  });

  it('Ctrl-C (SIGINT) stops cleanly and finalizes', async () => {
    const dir = join(tmp('sigint'), 's');
    const child = spawn(process.execPath, [BIN, 'record', '--audio', 'test', '--out', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (b) => {
        err += b;
        if (/audio [1-9][\d.]* s/.test(err)) resolve();
      }),
    );
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(err).toMatch(/stopping…/);
    expect(out).toMatch(/Recorded/);
    const m = JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8'));
    expect(m.complete).toBe(true);
    expect(m.streams[0].frames).toBeGreaterThan(48000);
  });

  it('a missing ALSA device exits 3 (or 6 when this build has no ALSA addon)', async () => {
    const r = await run(['record', '--audio', 'hw:97,0', '--duration', '1', '--out', join(tmp('alsa'), 's')]);
    expect([ExitCode.notFound, ExitCode.unsupported]).toContain(r.code);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('senseflow devices', { timeout: 120_000 }, () => {
  it('--json has cameras, audio and notes, with descriptions', async () => {
    const r = await run(['devices', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect(Object.keys(d).sort()).toEqual(['audio', 'cameras', 'notes']);
    for (const c of d.cameras) {
      expect(c.path).toMatch(/^\/dev\/video\d+$/);
      expect(Array.isArray(c.descriptions)).toBe(true);
    }
    for (const a of d.audio) expect(typeof a.description).toBe('string');
    const videoNodes = readdirSync('/dev').filter((n) => /^video\d+$/.test(n));
    if (videoNodes.length === 0) expect(d.notes.join(' ')).toMatch(/no \/dev\/video\* found/);
  });

  it('plain output lists both kinds and the test sources', async () => {
    const r = await run(['devices']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Cameras \(\d+\):/);
    expect(r.out).toMatch(/Audio inputs \(\d+\):/);
    expect(r.out).toContain('--video test');
  });
});

describe('senseflow demo', { timeout: 120_000 }, () => {
  it.skipIf(!!noFfmpeg)(`--test records the test pattern, tone and real stats, merges, and summarizes${why}`, async () => {
    const dir = join(tmp('demo'), 'd');
    const r = await run(['demo', '--test', '--duration', '2', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/video: test pattern, because asked for test sources \(--test\)/);
    expect(r.err).toMatch(/audio: test tone, because asked for test sources \(--test\)/);
    expect(r.out).toMatch(/Recorded [\d.]+ s into/);
    expect(r.out).toMatch(/merged → merged\.mp4/);
    const m = JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8'));
    expect(m.merged.file).toBe('merged.mp4');
    expect(packets(join(dir, 'video.mkv'))).toBe(m.streams[0].items);
  });

  const hasCamera = readdirSync('/dev').some((n) => /^video\d+$/.test(n));
  it.skipIf(hasCamera || !!noFfmpeg)(`without a camera it says so and uses the test pattern${hasCamera ? ' (skipped: this machine has /dev/video*)' : why}`, async () => {
    const dir = join(tmp('demo2'), 'd');
    const r = await run(['demo', '--duration', '1', '--json', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ complete: true, merged: { file: 'merged.mp4' } });
    expect(r.err).toMatch(/video: test pattern, because no \/dev\/video\* found/);
    expect(r.err).toMatch(/audio: (ALSA default capture|test tone, because ALSA default capture failed: .+)/);
  });
});

describe('device holders', { timeout: 120_000 }, () => {
  it('finds the process that holds a file open (as for a busy /dev node)', async () => {
    const file = join(tmp('holder'), 'dev');
    require_write(file);
    const child = spawn('sh', ['-c', `exec 3<${file}; exec sleep 30`], { stdio: 'ignore' });
    try {
      let found: ReturnType<typeof deviceHolders> = [];
      for (let i = 0; i < 50 && found.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        found = deviceHolders(file);
      }
      expect(found).toEqual([{ pid: child.pid, command: 'sleep' }]);
    } finally {
      child.kill();
    }
  });
});

function require_write(f: string) {
  spawnSync('sh', ['-c', `: > ${f}`]);
}
