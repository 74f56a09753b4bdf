// Recording safety through the library: never overwrite, one recorder per directory, one ledger entry per
// gap, source events in the manifest, repair() of a session cut off by a real kill -9.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceBusyError, InvalidOptionError, openSource, type Source } from '@senseflow/core';
import { openTone } from '@senseflow/source-audio';
import { readManifest, record, repair } from '@senseflow/sinks';
import { fixture, requireTools, sleep, soxSeconds, tempDir, videoPts } from './file-helpers.js';

const missing = requireTools('ffmpeg', 'ffprobe', 'soxi');
const why = missing ? ` (skipped: ${missing})` : '';
const open: Source[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((s) => s.close()));
});
const keep = <S extends Source>(s: S) => (open.push(s), s);
const ledger = (dir: string, name: string) =>
  readFileSync(join(dir, `${name}.drops.ndjson`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('recording safety (library)', { timeout: 120_000 }, () => {
  it('record() refuses a directory that holds files unless overwrite: true', async () => {
    const dir = tempDir('nooverwrite');
    writeFileSync(join(dir, 'audio.wav'), 'precious');
    const tone = keep(await openTone({ rate: 8000, channels: 1 }, { autoStart: false }));
    const err = await record({ dir, streams: { audio: tone } }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err.message).toMatch(/empty or new directory \(this one holds audio\.wav; pass overwrite: true/);
    expect(readFileSync(join(dir, 'audio.wav'), 'utf8')).toBe('precious');
    expect(existsSync(join(dir, 'session.lock'))).toBe(false);
    const rec = await record({ dir, streams: { audio: tone }, overwrite: true });
    await tone.start();
    await sleep(300);
    await tone.stop();
    const m = await rec.stop();
    expect(m.complete).toBe(true);
    expect(readFileSync(join(dir, 'audio.wav')).subarray(0, 4).toString()).toBe('RIFF');
    expect(existsSync(join(dir, 'session.lock'))).toBe(false); // released at stop
  });

  it('a second record() into a directory being recorded fails at start (DeviceBusyError); the first is untouched', async () => {
    const dir = tempDir('busy');
    const tone = keep(await openTone({ rate: 8000, channels: 1 }, { autoStart: false }));
    const rec = await record({ dir, streams: { audio: tone } });
    await tone.start();
    const other = keep(await openTone({ rate: 8000, channels: 1 }, { autoStart: false }));
    const err = await record({ dir, streams: { audio: other }, overwrite: true }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceBusyError);
    expect(err.message).toMatch(/is being recorded into by this process/);
    await sleep(300);
    await tone.stop();
    const m = await rec.stop();
    expect(m.complete).toBe(true);
    expect(m.streams[0].frames).toBeGreaterThan(0);
  });

  it('one ledger entry per gap, at the place it happened', async () => {
    const dir = tempDir('gaps');
    const src = keep(await openSource(fixture('gappy-records.mjs'), { count: 30, gaps: { 3: 5, 10: 2, 20: 7 } }, { autoStart: false }));
    const rec = await record({ dir, streams: { g: src } });
    await src.start();
    for (let i = 0; i < 100 && rec.progress().streams.g.items < 29; i++) await sleep(50);
    await sleep(300);
    await src.stop();
    const m = await rec.stop();
    const rows = readFileSync(join(dir, 'g.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(m.streams[0].items).toBe(rows.length);
    expect(m.streams[0].drops).toEqual({ driver: 14 });
    // Three gaps (after seq 3, 10 and 20): entries at exactly those three places — not one lump at the end —
    // and at each place the entries account for every seq missing there (counted by cause, or noted).
    const entries = ledger(dir, 'g').filter((e) => e.cause || e.note === 'gap');
    expect([...new Set(entries.map((e) => e.afterSeq))]).toEqual(['3', '10', '20']);
    for (const at of ['3', '10', '20']) {
      const here = entries.filter((e) => e.afterSeq === at);
      const next = rows[rows.findIndex((x) => String(x.seq) === at) + 1].seq;
      expect(here.every((e) => e.beforeSeq === String(next))).toBe(true);
      expect(here.reduce((a, e) => a + (e.count ?? e.missing), 0)).toBe(next - Number(at) - 1);
    }
    const gaps = entries.filter((e) => e.cause);
    expect(gaps.reduce((a, e) => a + e.count, 0)).toBe(14);
    // The capture time of the item before each gap is the one in the data file.
    for (const e of gaps) expect(rows.find((r) => String(r.seq) === e.afterSeq).captureNs).toBe(e.afterCaptureNs);
  });

  it('source events (crash, restart) are kept per stream in the manifest with their times, and passed on once each', async () => {
    const dir = tempDir('events');
    const counter = new URL('../../core/test/fixtures/counter.mjs', import.meta.url);
    const src = keep(await openSource(counter, { hz: 100, crashAfter: 20 }, { autoStart: false, restart: 'on-crash' }));
    const rec = await record({ dir, streams: { c: src } });
    const seen: string[] = [];
    rec.events$.subscribe((e) => e.type === 'source' && seen.push(e.event.type));
    await src.start();
    for (let i = 0; i < 100 && !seen.includes('restarted'); i++) await sleep(50);
    await sleep(200);
    await src.stop();
    const m = await rec.stop();
    const events = m.streams[0].events!;
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['crashed', 'restarted']));
    expect(seen).toEqual(events.map((e) => e.type));
    const crashed = events.find((e) => e.type === 'crashed')!;
    expect(BigInt(crashed.atNs)).toBeGreaterThan(BigInt(m.clock.monotonicNs));
    expect((crashed.error as { message: string }).message).toMatch(/counter crashed on purpose/);
    expect(readManifest(dir).streams[0].events).toEqual(events);
  });

  it.skipIf(!!missing)(`repair() after a real kill -9: every file valid, manifest rebuilt, sidecars = files${why}`, async () => {
    const dir = tempDir('repair');
    // Its own process group: the kill takes ffmpeg down too (the harshest case: nothing finalizes).
    const child = spawn(process.execPath, [new URL('./fixtures/record-child.mjs', import.meta.url).pathname, dir], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b) => /RECORDING/.test(String(b)) && resolve());
      child.on('exit', (c) => reject(new Error(`recorder exited early (${c})`)));
    });
    await sleep(2500);
    // ffmpeg runs in a process group of its own: kill it as well (the harshest case — nothing finalizes).
    const ffmpeg = execFileSync('pgrep', ['-P', String(child.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').map(Number);
    process.kill(-child.pid!, 'SIGKILL');
    for (const pid of ffmpeg) process.kill(pid, 'SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // The manifest on disk was at most ~1 s behind the data when the kill came.
    const live = readManifest(dir);
    for (const s of live.streams) {
      const rows = readFileSync(join(dir, s.timestamps), 'utf8').trim().split('\n');
      const last = BigInt(rows.at(-1)!.split(',')[s.kind === 'video' ? 2 : s.kind === 'audio' ? 3 : 1]);
      expect(Number(last - BigInt(s.lastCaptureNs!)) / 1e9, s.name).toBeLessThanOrEqual(1);
    }
    const r = repair(dir);
    const m = readManifest(dir);
    expect(m).toEqual(r.manifest);
    expect(m.complete).toBe(false);
    expect(m.repaired!.report.join('\n')).toMatch(/video: recovered \d+ frames/);
    const [v, a, s] = m.streams;
    expect(v.items).toBe(videoPts(join(dir, 'video.mkv')).length);
    expect(v.items).toBe(readFileSync(join(dir, 'video.timestamps.csv'), 'utf8').trim().split('\n').length - 1);
    expect(soxSeconds(join(dir, 'audio.wav'))).toBeCloseTo(a.frames! / 48000, 3);
    for (const f of ['stats.ndjson', 'stats.csv', 'video.timestamps.csv', 'audio.timestamps.csv', 'video.drops.ndjson']) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text === '' || text.endsWith('\n'), f).toBe(true);
    }
    expect(s.items).toBe(readFileSync(join(dir, 'stats.ndjson'), 'utf8').trim().split('\n').length);
    expect(existsSync(join(dir, 'session.lock'))).toBe(false);
    // Repairing again finds nothing more to fix.
    expect(repair(dir).streams.every((x) => x.fixed.length === 0)).toBe(true);
  });
});
