import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runSourceConformance, within } from '@senseflow/core/testing';
import type { RecordItem, RecordsSource } from '@senseflow/core';
import { openSysStats, type SysStatsOptions } from '@senseflow/source-sysstats';
import { SYNTH, realMeta, replay } from './helpers.js';

/** The next `n` records (copied: views are valid only during the callback). */
function nextRecords(src: RecordsSource, n: number): Promise<RecordItem[]> {
  return new Promise((resolve, reject) => {
    const got: RecordItem[] = [];
    const sub = src.frames$.subscribe({
      next: (r) => {
        got.push(r.copy());
        if (got.length === n) {
          sub.unsubscribe();
          resolve(got);
        }
      },
      error: reject,
    });
  });
}

const missing = process.platform !== 'linux' ? `not Linux (${process.platform})` : '';
if (missing && process.env.CI) throw new Error(`sysstats source tests need Linux: ${missing}`);

runSourceConformance('sysstats', { open: () => openSysStats({ hz: 50 }), kind: 'records', skip: missing || false });
runSourceConformance('sysstats (os fallback)', { open: () => openSysStats({ hz: 50, backend: 'os' }), kind: 'records' });

async function opened(o: SysStatsOptions): Promise<RecordsSource> {
  return openSysStats(o, { autoStart: false });
}

describe.skipIf(!!missing)(`sysstats source in its worker${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('the spec lists the selected fields with units, and the first record is already valid', async () => {
    await using src = await opened({ hz: 10, fields: ['cpu*', 'mem.*', 'swap.used', 'load.*', 'proc.*', 'net.*', 'disk.*'] });
    expect(src.spec.kind).toBe('records');
    if (src.spec.kind !== 'records') return;
    const names = src.spec.fields.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['cpu', 'cpu.user', 'cpu.0', 'mem.used', 'load.15', `proc.${process.pid}.cpu`]));
    expect(src.spec.fields.every((f) => f.unit.length > 0)).toBe(true);
    const first = nextRecords(src, 1);
    await src.start();
    const [r] = await first;
    expect(r.seq).toBe(0n);
    const bad = names.filter((n) => !Number.isFinite(r.get(n)));
    expect(bad, 'NaN or Infinity in the first record').toEqual([]);
    expect(r.get('cpu')).toBeGreaterThanOrEqual(0);
    expect(r.get('cpu')).toBeLessThanOrEqual(100);
    expect(r.get('mem.used')).toBeGreaterThan(0);
  });

  it('1 kHz for 2 s: ≈ 2000 records, monotonic capture times, no unaccounted loss', async () => {
    await using src = await opened({ hz: 1000, fields: ['cpu', 'mem.used', 'proc.*'] });
    const seqs: bigint[] = [];
    const times: bigint[] = [];
    // The 2 s are stream time (capture times), so a slow stop() on a loaded machine does not stretch them.
    let window: { records: number; drops: number } | undefined;
    const twoSeconds = new Promise<void>((resolve) => {
      src.frames$.subscribe((r) => {
        seqs.push(r.seq);
        times.push(r.captureNs);
        if (!window && r.captureNs - times[0] >= 2_000_000_000n) {
          window = { records: seqs.length, drops: src.drops().driver };
          resolve();
        }
      });
    });
    await src.start();
    await twoSeconds;
    await src.stop();
    await sleep(50);
    const drops = src.drops();
    const n = seqs.length;
    // Every committed record reached the subscriber, in order, with increasing capture times.
    expect(drops.overwritten).toBe(0);
    expect(seqs.every((s, i) => s === BigInt(i))).toBe(true);
    for (let i = 1; i < n; i++) if (times[i] <= times[i - 1]) throw new Error(`capture time not increasing at ${i}`);
    // 2 s at 1 kHz = 2001 deadlines (both ends): each one a record or a counted driver drop. (Slack: the drop
    // counter is read when record K arrives, so it can include a few drops reported just after K.)
    const accounted = window!.records + window!.drops;
    expect(Math.abs(accounted - 2001), `${window!.records} records + ${window!.drops} driver drops in the first 2 s`).toBeLessThanOrEqual(10);
    // Over the whole run too: records + drops = deadlines between the first and the last capture.
    const deadlines = Number(times[n - 1] - times[0]) / 1e6 + 1;
    expect(Math.abs(n + drops.driver - deadlines), `${n} records + ${drops.driver} drops vs ${deadlines.toFixed(0)} deadlines`).toBeLessThan(
      Math.max(20, deadlines * 0.01),
    );
  });

  it('a bad option fails open() with the typed error naming it', async () => {
    await expect(openSysStats({ hz: 5000 })).rejects.toMatchObject({ code: 'EINVAL', details: expect.objectContaining({ parameter: 'hz' }) });
    await expect(openSysStats({ fields: ['nope.*'] })).rejects.toMatchObject({ code: 'EINVAL', details: expect.objectContaining({ parameter: 'fields' }) });
  });

  it('rates below 1 Hz still emit on schedule (0.5 Hz → first record after priming, next 2 s later)', async () => {
    await using src = await opened({ hz: 0.5, fields: ['cpu', 'load.1'] });
    const got = nextRecords(src, 2);
    await src.start();
    const [a, b] = await got;
    const gapMs = Number(b.captureNs - a.captureNs) / 1e6;
    expect(gapMs).toBeGreaterThan(1500);
    expect(gapMs).toBeLessThan(4000);
  }, 10_000);

  it('stop() at 0.1 Hz returns without waiting out the 10 s period', async () => {
    await using src = await opened({ hz: 0.1, fields: ['cpu'] });
    const first = nextRecords(src, 1);
    await src.start();
    await first; // now the loop sleeps ~10 s toward the next deadline
    const outcome = await Promise.race([src.stop().then(() => 'stopped'), sleep(3000).then(() => 'still waiting after 3 s')]);
    expect(outcome).toBe('stopped');
  });

  it('a watched process that exits: its fields turn NaN and a `lost` event says which', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await using src = await opened({ hz: 20, pids: [child.pid!], fields: ['proc.*', 'mem.used'] });
      const lost = new Promise<unknown>((resolve) => {
        const sub = src.events$.subscribe((e) => {
          if (e.type === 'custom' && e.name === 'lost') {
            sub.unsubscribe();
            resolve(e.payload);
          }
        });
      });
      await src.start();
      const [before] = await within(nextRecords(src, 1), 5000, 'first record');
      expect(Number.isFinite(before.get(`proc.${child.pid}.rss`))).toBe(true);
      child.kill('SIGKILL');
      expect(await within(lost, 5000, '`lost` event')).toMatchObject({ what: `process ${child.pid}` });
      const [after] = await within(nextRecords(src, 1), 5000, 'record after the exit');
      expect(Number.isNaN(after.get(`proc.${child.pid}.rss`))).toBe(true);
      expect(Number.isNaN(after.get(`proc.${child.pid}.cpu`))).toBe(true);
      expect(after.get('mem.used')).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('replays a recorded container tree inside the worker (procRoot/sysRoot reach the worker)', async () => {
    const r = replay(SYNTH);
    try {
      await using src = await opened({ hz: 10, procRoot: r.procRoot, sysRoot: r.sysRoot, pids: [realMeta.pid], fields: ['cgroup.*', 'temp.*'] });
      if (src.spec.kind !== 'records') throw new Error('not records');
      expect(src.spec.fields.map((f) => f.name)).toContain('cgroup.mem.limit');
      await src.start();
      const [rec] = await nextRecords(src, 1);
      expect(rec.get('cgroup.cpu.limit')).toBe(1.5);
      expect(rec.get('cgroup.mem.limit')).toBe(512 * 1024 * 1024);
      expect(rec.get('temp.x86_pkg_temp')).toBe(47);
      expect(rec.get('cgroup.cpu')).toBe(0); // the replayed counter does not move
    } finally {
      r.dispose();
    }
  });

  it('stop → start primes again: the first record after a pause is valid', async () => {
    await using src = await opened({ hz: 20, fields: ['cpu', 'proc.*'] });
    await src.start();
    await sleep(300);
    await src.stop();
    await sleep(300);
    const next = nextRecords(src, 1);
    await src.start();
    const [r] = await next;
    expect(Number.isFinite(r.get('cpu'))).toBe(true);
    expect(Number.isFinite(r.get(`proc.${process.pid}.cpu`))).toBe(true);
  });
});
