// Runs the built `senseflow` binary (packages/cli/dist/bin.js) with MCAP output and MCAP input.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMcapInfo, readMcapMessages } from '@senseflow/sinks';
import { BIN, run, tmp } from './helpers.js';

describe('senseflow record --format mcap', { timeout: 120_000 }, () => {
  it('kill -9 during an MCAP recording leaves a file readable up to ≤ 1 s before the kill', async () => {
    const dir = join(tmp('mcap-kill'), 's');
    const child = spawn(process.execPath, [BIN, 'record', '--video', 'test', '--size', '320x240', '--fps', '15', '--audio', 'test', '--stats', '--stats-hz', '20', '--format', 'mcap', '--out', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    // Record for a while (≥ 3 s of audio), then kill without warning.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no progress: ${err}`)), 60_000);
      child.stderr.on('data', (b) => {
        err += b;
        if (/audio [3-9][\d.]* s/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const killNs = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of the capture stamps
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // A killed recorder cannot remove its lock; the next recorder or `repair` recognises it as stale.
    expect(readdirSync(dir).sort()).toEqual(['session.json', 'session.lock', 'session.mcap']);

    const file = join(dir, 'session.mcap');
    const info = await readMcapInfo(file);
    expect(info.indexed).toBe(false); // no summary: read with the stream reader up to the last chunk
    const topic = new Map(info.channels.map((c) => [c.id, c.topic]));
    const last = new Map<string, bigint>();
    const count = new Map<string, number>();
    for await (const m of readMcapMessages(file)) {
      const t = topic.get(m.channelId)!;
      expect(m.logTime).toBeGreaterThanOrEqual(last.get(t) ?? 0n); // monotonic per channel
      last.set(t, m.logTime);
      count.set(t, (count.get(t) ?? 0) + 1);
    }
    const lag = Object.fromEntries(['/video', '/audio', '/stats'].map((t) => [t, Number(killNs - last.get(t)!) / 1e9]));
    for (const t of ['/video', '/audio', '/stats']) {
      expect(count.get(t)).toBeGreaterThan(10);
      // Everything captured up to 1 s before the kill is in the file.
      expect(lag[t], `seconds between the last stored capture and the kill: ${JSON.stringify(lag)}`).toBeLessThanOrEqual(1);
    }
  });

  it('--format files,mcap writes both; --video mcap:FILE#TOPIC replays a channel with its seq and capture spacing', async () => {
    const base = tmp('mcap-both');
    const first = join(base, 'a');
    const r1 = await run(['record', '--video', 'test', '--size', '160x120', '--fps', '20', '--stats', '--duration', '1.5', '--format', 'files,mcap', '--json', '--out', first]);
    expect(r1.err).not.toMatch(/error/i);
    expect(r1.code).toBe(0);
    const m1 = JSON.parse(r1.out);
    expect(m1.mcap).toMatchObject({ file: 'session.mcap', complete: true });
    expect(m1.mcap.streams.video.messages).toBe(m1.streams.find((s: { name: string }) => s.name === 'video').items);
    expect(readdirSync(first)).toEqual(expect.arrayContaining(['video.mkv', 'stats.ndjson', 'session.mcap']));

    const second = join(base, 'b');
    const r2 = await run(['record', '--video', `mcap:${join(first, 'session.mcap')}#/video`, '--duration', '4', '--format', 'mcap', '--json', '--out', second]);
    expect(r2.code).toBe(0);
    const m2 = JSON.parse(r2.out);
    expect(m2.streams[0].device).toBe(`[mcap] ${join(first, 'session.mcap')}#/video`);
    // The replayed items keep the recorded seq and the spacing of their capture times (moved to now).
    const rows = async (f: string) => {
      const out: [number, bigint][] = [];
      for await (const m of readMcapMessages(f, ['/video'])) out.push([m.sequence, m.logTime]);
      return out;
    };
    const orig = await rows(join(first, 'session.mcap'));
    const again = await rows(join(second, 'session.mcap'));
    expect(again.length).toBeGreaterThan(5);
    const at = orig.findIndex(([seq]) => seq === again[0][0]);
    expect(at).toBeGreaterThanOrEqual(0);
    const rel = (r: [number, bigint][], i0: number) => r.slice(i0, i0 + again.length).map(([seq, t]) => `${seq}+${t - r[i0][1]}`);
    expect(rel(again, 0)).toEqual(rel(orig, at));
    expect(again[0][1]).toBeGreaterThan(orig.at(-1)![1]);
    expect(JSON.parse(readFileSync(join(second, 'session.json'), 'utf8')).mcap.complete).toBe(true);
  });

  it('bad --format and bad mcap: inputs are one-line usage/not-found errors', async () => {
    const r = await run(['record', '--stats', '--format', 'mp4', '--out', join(tmp('bad'), 's')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--format expects files, mcap or files,mcap/);
    const r2 = await run(['record', '--audio', 'mcap:/nonexistent/x.mcap', '--duration', '1', '--out', join(tmp('bad2'), 's')]);
    expect(r2.code).not.toBe(0);
    expect(r2.err).toMatch(/x\.mcap/);
  });
});
