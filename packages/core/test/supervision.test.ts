// Supervision in the worker host, against real workers: the watchdog finds a hung plugin, ctx.error is a
// crash under the restart policy, the loss of a restart is counted in items, and past the restart limit
// the source is visibly in the error state. Times are bounded generously (the machine is shared).
import { execFileSync } from 'node:child_process';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { InvalidOptionError, InvalidStateError, openSource, type RecordItem, type Source, type SourceEvent } from '@senseflow/core';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const openFaulty = (opts: Record<string, unknown>, host: Record<string, unknown> = {}) =>
  openSource<RecordItem>(fixture('faulty.mjs'), opts, { restartDelayMs: 50, ...host });

function record(src: Source<RecordItem>) {
  const events: Array<SourceEvent & { at: number }> = [];
  const items: Array<{ seq: bigint; captureNs: bigint; flags: number; at: number }> = [];
  src.events$.subscribe((e) => events.push({ ...e, at: performance.now() }));
  src.frames$.subscribe((r) => items.push({ seq: r.seq, captureNs: r.captureNs, flags: r.flags, at: performance.now() }));
  return { events, items };
}
const waitFor = <T extends SourceEvent['type']>(src: Source<RecordItem>, type: T, ms = 15_000) =>
  firstValueFrom(src.events$.pipe(filter((e): e is Extract<SourceEvent, { type: T }> => e.type === type), timeout(ms)));
const writerDrops = (d: Record<string, number>) => d.driver + d.ringFull + d.restart + d.disconnect;

describe('supervision', () => {
  it('a hung plugin (endless loop) is found by the watchdog within its window, reported, ended and restarted', async () => {
    // Default host options (restartDelayMs 200): the 2 s is for a source as users open it.
    await using src = await openSource<RecordItem>(fixture('faulty.mjs'), { hz: 100, hangAfter: 30 });
    const { events, items } = record(src);
    const resumed = await waitFor(src, 'resumed');
    const hangAt = items.find((i) => i.seq === 29n)!.at; // the last item before the endless loop
    const crashed = events.find((e) => e.type === 'crashed')!;
    const restarted = events.find((e) => e.type === 'restarted')!;
    expect(crashed.type === 'crashed' && crashed.reason).toBe('hung');
    expect(crashed.type === 'crashed' && crashed.restarting).toBe(true);
    expect(crashed.type === 'crashed' && crashed.error.code).toBe('EWORKER');
    expect(crashed.at - hangAt).toBeGreaterThan(900); // the watchdog window (1 s at 100 Hz) …
    await firstValueFrom(src.frames$.pipe(take(5), timeout(5000))); // streaming again
    const after = items.find((i) => i.seq >= 30n)!;
    // … and the restart follows: hung → restarted within 2 s (issue 13), asserted when the machine is not
    // oversubscribed (load average below its core count; bench/restart.bench.mjs: median 1.2 s at a load of
    // 1.5 per core). On a busier machine spawning a worker competes for the CPU: 6 s there. Printed either way.
    const load = loadavg()[0] / availableParallelism();
    const took = { restarted: Math.round(restarted.at - hangAt), detected: Math.round(crashed.at - hangAt), firstItem: Math.round(after.at - hangAt) };
    console.log(`hung plugin at 100 Hz: hung → restarted ${took.restarted} ms (detected ${took.detected} ms, next item ${took.firstItem} ms); load ${(load * availableParallelism()).toFixed(2)} on ${availableParallelism()} cores`);
    expect(took.restarted).toBeLessThan(load < 1 ? 2000 : 6000);
    expect(after.flags & 1).toBe(1); // the first item after the gap says so
    expect(resumed.lost).toBeGreaterThan(50); // ≥ 1 s of a 100 Hz stream
    expect(src.drops().restart).toBe(resumed.lost);
    expect(src.state).toBe('running');
  });

  it('a replacement opens only after the hung worker it replaces has exited (never two writers or device owners)', async () => {
    // The hung worker is blocked in a system call, as in a driver call that does not return: terminate()
    // cannot end it until the call returns. The replacement (spawned at once, its plugin loaded) must wait.
    const dir = await mkdtemp(join(tmpdir(), 'sf-block-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    let released = 0;
    const release = async () => {
      if (!released) released = performance.now();
      await (await open(fifo, 'w')).close(); // the blocked open() for reading returns
    };
    try {
      await using src = await openFaulty({ hz: 100, blockAfter: 20, blockOn: fifo });
      const { events, items } = record(src);
      const crashed = await waitFor(src, 'crashed');
      expect(crashed.reason).toBe('hung');
      await new Promise((r) => setTimeout(r, 1000)); // a replacement that did not wait would be running by now
      expect(events.some((e) => e.type === 'restarted')).toBe(false);
      const before = items.length;
      await release();
      await waitFor(src, 'restarted');
      const restartedAt = events.find((e) => e.type === 'restarted')!.at;
      expect(restartedAt).toBeGreaterThan(released);
      // Nothing was written between the hang and the old worker's exit: every item after it came later.
      expect(items[before - 1].seq).toBe(19n); // the last item before the block
      expect(items.slice(before).every((i) => i.seq >= 20n && i.at > released)).toBe(true);
      await firstValueFrom(src.frames$.pipe(take(3), timeout(5000)));
      expect(items.find((i) => i.seq >= 20n)!.flags & 1).toBe(1);
    } finally {
      if (!released) await release();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ctx.error (a capture loop that throws) is a crash: reported with its reason, restarted, the loss counted', async () => {
    await using src = await openFaulty({ hz: 100, failAfter: 20 });
    const crashed = await waitFor(src, 'crashed');
    expect(crashed.reason).toBe('failed');
    expect(crashed.restarting).toBe(true);
    expect(crashed.error.message).toMatch(/faulty failed on purpose after 19/);
    await waitFor(src, 'restarted');
    const resumed = await waitFor(src, 'resumed');
    expect(resumed.lost).toBeGreaterThan(0);
    const more = await firstValueFrom(src.frames$.pipe(take(3), toArray(), timeout(5000)));
    expect(more[0].seq).toBeGreaterThanOrEqual(20n);
  });

  it('a throwing plugin at 100 Hz: items expected − received = counted drops ± 1', async () => {
    await using src = await openFaulty({ hz: 100, failAfter: 50, slots: 1024 });
    const { items } = record(src);
    await waitFor(src, 'resumed');
    await firstValueFrom(src.frames$.pipe(take(30), timeout(5000)));
    await src.stop();
    const first = items[0];
    const last = items[items.length - 1];
    const expected = Math.round(Number(last.captureNs - first.captureNs) / 1e7) + 1; // 10 ms per item
    const drops = src.drops();
    expect(drops.overwritten).toBe(0);
    expect(drops.restart).toBeGreaterThan(0);
    // The seq numbers agree too: the ring's seq continues, so received items are consecutive seqs.
    expect(Number(last.seq - first.seq) + 1).toBe(items.length);
    expect(Math.abs(expected - items.length - writerDrops(drops))).toBeLessThanOrEqual(1);
  });

  it('past the restart limit the source is in the error state: failed event, state, stats$, loss still counted', async () => {
    await using src = await openFaulty({ hz: 100, failEvery: 5 }, { maxRestarts: 2, statsIntervalMs: 100 });
    const { events } = record(src);
    const failed = await waitFor(src, 'failed');
    expect(failed.restarts).toBe(2);
    expect(failed.error.message).toMatch(/faulty failed on purpose/);
    expect(events.filter((e) => e.type === 'crashed').map((e) => e.type === 'crashed' && e.restarting)).toEqual([true, true, false]);
    expect(src.state).toBe('error');
    const stats = await firstValueFrom(src.stats$.pipe(timeout(5000)));
    expect(stats.state).toBe('error');
    expect(stats.error?.message).toMatch(/faulty failed on purpose/);
    const lostThen = src.drops().restart;
    await new Promise((r) => setTimeout(r, 500));
    expect(src.drops().restart - lostThen).toBeGreaterThanOrEqual(30); // 0.5 s of 100 Hz is still counted as lost
    const err = await src.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStateError);
    expect((err as Error).message).toMatch(/error state: .*faulty failed on purpose/);
    await src.close();
    expect(src.state).toBe('closed');
  });

  it('with restart off, ctx.error puts the source straight into the error state', async () => {
    await using src = await openFaulty({ hz: 100, failAfter: 5 }, { restart: 'off' });
    const { events } = record(src);
    const failed = await waitFor(src, 'failed', 5000);
    expect(failed.restarts).toBe(0);
    expect(events.map((e) => e.type)).toEqual(['crashed', 'failed']);
    expect(events[0].type === 'crashed' && events[0].restarting).toBe(false);
    expect(src.state).toBe('error');
  });

  it('stop() and close() on a hung worker return within the watchdog window, not after 30 s / 5 s', async () => {
    const a = await openFaulty({ hz: 100, hangOnStop: true });
    await firstValueFrom(a.frames$.pipe(take(3), timeout(5000)));
    let t = performance.now();
    await a.stop();
    expect(performance.now() - t).toBeLessThan(4000);
    expect(a.state).toBe('stopped');
    await a.close();

    const b = await openFaulty({ hz: 100, hangAfter: 3 });
    await firstValueFrom(b.frames$.pipe(take(3), timeout(5000)));
    t = performance.now();
    await b.close();
    expect(performance.now() - t).toBeLessThan(4000);
  });
});

describe('host options', () => {
  it('are validated with typed errors naming the parameter and the valid choices', async () => {
    const bad = async (host: Record<string, unknown>) => (await openSource(fixture('faulty.mjs'), {}, host).catch((e: unknown) => e)) as InvalidOptionError;
    let e = await bad({ restart: 'sometimes' });
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect(e.details?.parameter).toBe('restart');
    expect(e.message).toMatch(/one of off, on-crash .*received 'sometimes'/);
    e = await bad({ maxRestarts: -1 });
    expect(e.details?.parameter).toBe('maxRestarts');
    e = await bad({ maxRestarts: 1.5 });
    expect(e.details?.parameter).toBe('maxRestarts');
    e = await bad({ requestTimeoutMs: '30s' });
    expect(e.details?.parameter).toBe('requestTimeoutMs');
    e = await bad({ statsIntervalMs: 0 });
    expect(e.details?.parameter).toBe('statsIntervalMs');
    e = await bad({ restartDelayMs: Number.NaN });
    expect(e.details?.parameter).toBe('restartDelayMs');
    e = await bad({ watchdogMs: 10 });
    expect(e.details?.parameter).toBe('watchdogMs');
    e = await bad({ autoStart: 'yes' });
    expect(e.details?.parameter).toBe('autoStart');
    e = await bad({ logLevel: 'loud' });
    expect(e.message).toMatch(/one of fatal, error, warn, info, debug, trace, silent/);
    e = await bad({ restrat: 'off' });
    expect(e.details?.parameter).toBe('restrat');
    expect(e.message).toMatch(/one of logger, logLevel, autoStart, restart, maxRestarts/);
  });

  it('a ring too large to allocate is a clear error naming the ring and its size, not a bare allocation failure', async () => {
    const e = (await openSource(fixture('huge-ring.mjs')).catch((x: unknown) => x)) as InvalidOptionError;
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect(e.details?.parameter).toBe('ring');
    expect(e.message).toMatch(/65536 slots × 1073741824 bytes ≈ 70369 GB/);
    expect(e.message).not.toMatch(/^Array buffer allocation failed$/);
    expect(e.message).toMatch(/huge-ring/);
  });
});
