import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { filter, firstValueFrom, lastValueFrom, map, take, timeout, toArray } from 'rxjs';
import {
  DeviceBusyError,
  InvalidOptionError,
  InvalidStateError,
  PluginError,
  SenseflowError,
  combine,
  openSource,
  type RecordItem,
  type SourceEvent,
} from '@senseflow/core';
import { runSourceConformance } from '@senseflow/core/testing';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const openCounter = (opts: Record<string, unknown> = {}, host = {}) => openSource<RecordItem>(fixture('counter.mjs'), { hz: 200, ...opts }, host);

runSourceConformance('counter fixture (records)', { open: () => openCounter(), kind: 'records' });

describe('openSource', () => {
  it('loads a plugin by file URL, by path string, and reports its name and spec', async () => {
    await using a = await openCounter();
    expect(a.name).toBe('counter');
    expect(a.spec.kind).toBe('records');
    await using b = await openSource(fixture('counter.mjs').pathname, { hz: 50 });
    expect(b.spec.description).toBe('[counter] 50 Hz');
  });

  it('rejects bad options with a typed error naming the parameter and the valid range', async () => {
    const err = await openCounter({ hz: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('EINVAL');
    expect((err as InvalidOptionError).details?.parameter).toBe('hz');
    expect((err as Error).message).toMatch(/`hz`.*received 0/);
    const unknown = await openCounter({ bogus: 1 }).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/one of hz, crashAfter, slots/);
  });

  it('reports plugin problems as PluginError, and open() failures with their own type', async () => {
    await expect(openSource(fixture('not-a-plugin.mjs'))).rejects.toBeInstanceOf(PluginError);
    await expect(openSource(fixture('bad-spec.mjs'))).rejects.toThrowError(/width\/height/);
    await expect(openSource(fixture('missing.mjs'))).rejects.toBeInstanceOf(PluginError);
    await expect(openSource('@senseflow/no-such-package')).rejects.toBeInstanceOf(PluginError);
    const busy = await openSource(fixture('open-throws.mjs')).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(DeviceBusyError);
    expect((busy as DeviceBusyError).details?.holders).toEqual(['pid 1234 (other-app)']);
  });

  it('a source whose open() failed is not restarted in the background', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'sf-open-')), 'opens.log');
    process.env.SF_OPEN_LOG = log;
    try {
      await expect(openSource(fixture('open-throws.mjs'), undefined, { restartDelayMs: 10 })).rejects.toBeInstanceOf(DeviceBusyError);
      await new Promise((r) => setTimeout(r, 1000));
      expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['open']);
    } finally {
      delete process.env.SF_OPEN_LOG;
    }
  });

  it('delivers records whose values match their seq, through frames$ and latest()', async () => {
    await using src = await openCounter();
    const items = await firstValueFrom(src.frames$.pipe(take(20), toArray(), timeout(5000)));
    // values are views valid during the callback; toArray kept them, so compare what we copied via get():
    void items;
    const seen: Array<[bigint, number, number]> = [];
    await firstValueFrom(
      src.frames$.pipe(
        take(20),
        filter((r) => {
          seen.push([r.seq, r.get('n'), r.get('twice')]);
          return true;
        }),
        toArray(),
        timeout(5000),
      ),
    );
    for (const [seq, n, twice] of seen) {
      expect(n).toBe(Number(seq));
      expect(twice).toBe(2 * n);
    }
    const l = src.latest()!;
    expect(l.toObject()).toEqual({ n: Number(l.seq), twice: 2 * Number(l.seq) });
    expect(l.get('nope')).toBeNaN();
  });

  it('autoStart: false opens stopped; start() begins capture; controls round-trip to the plugin', async () => {
    await using src = await openCounter({}, { autoStart: false });
    expect(src.state).toBe('stopped');
    await new Promise((r) => setTimeout(r, 100));
    expect(src.latest()).toBeNull();
    await src.start();
    await lastValueFrom(src.frames$.pipe(take(3), timeout(5000)));
    const emitted = await src.getControl('emitted');
    expect(emitted, `latest seq ${src.latest()?.seq}`).toBeGreaterThanOrEqual(3);
    expect((await src.listControls())[0].name).toBe('emitted');
    await expect(src.getControl('nope')).rejects.toThrowError(/no control nope/);
    await expect(src.setControl('emitted', Number.NaN)).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('a crashed worker is reported, restarted on the same ring, and the stream shows a gap', async () => {
    await using src = await openCounter({ crashAfter: 10 }, { restartDelayMs: 50 });
    const events: SourceEvent[] = [];
    src.events$.subscribe((e) => events.push(e));
    const seqs: bigint[] = [];
    let gapFlagged = false;
    await firstValueFrom(
      src.frames$.pipe(
        filter((r) => {
          seqs.push(r.seq);
          if (r.flags & 1) gapFlagged = true;
          return seqs.length >= 25;
        }),
        timeout(15_000),
      ),
    );
    const crashed = events.find((e) => e.type === 'crashed');
    expect(crashed).toBeDefined();
    expect(crashed!.type === 'crashed' && crashed!.restarting).toBe(true);
    expect(events.some((e) => e.type === 'restarted')).toBe(true);
    expect(gapFlagged).toBe(true);
    // The restart's loss is counted in items once the first item after it is in the ring (`resumed`).
    await vi.waitFor(() => expect(events.some((e) => e.type === 'resumed')).toBe(true), { timeout: 5000 });
    expect(src.drops().restart).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]); // seq continues on the ring
  });

  it('with restart off, a crash is reported and the source stays down', async () => {
    await using src = await openCounter({ crashAfter: 3 }, { restart: 'off' });
    const crashed = await firstValueFrom(src.events$.pipe(filter((e) => e.type === 'crashed'), timeout(5000)));
    expect(crashed.type === 'crashed' && crashed.restarting).toBe(false);
    await expect(src.stop()).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('close({ force: true }) ends the worker at once and is idempotent', async () => {
    const src = await openCounter();
    await src.close({ force: true });
    await src.close();
    expect(() => src.latest()).toThrow(InvalidStateError);
    expect(SenseflowError.isInstance(new InvalidStateError('x'))).toBe(true);
  });
});

describe('combine', () => {
  it('read() returns the latest of each; aligned$ pairs each lead item with the other stream at its capture time', async () => {
    await using fast = await openCounter({ hz: 200 });
    await using slow = await openCounter({ hz: 20 });
    const av = combine({ slow, fast }, { lead: 'slow' });
    await lastValueFrom(slow.frames$.pipe(take(2), timeout(5000)));
    const now = av.read();
    expect(now.fast?.kind).toBe('records');
    expect(now.slow?.kind).toBe('records');
    const tuples = await firstValueFrom(av.aligned$.pipe(take(5), toArray(), timeout(5000)));
    for (const t of tuples) {
      expect(t.slow).not.toBeNull();
      if (t.fast) expect(t.fast.captureNs).toBeLessThanOrEqual(t.slow!.captureNs);
    }
    expect(tuples.filter((t) => t.fast !== null).length).toBeGreaterThan(0);
    expect(() => combine({ fast }, { lead: 'nope' as 'fast' })).toThrow(InvalidOptionError);
  });

  it('aligned$ hands each lead item the audio that ends exactly at its capture time', async () => {
    const rate = 8000;
    await using lead = await openCounter({ hz: 50 });
    await using mic = await openSource(fixture('ramp-audio.mjs'), { rate });
    const av = combine({ lead, mic }, { audioWindowMs: 20 });
    const tuples = await lastValueFrom(
      av.aligned$.pipe(
        map((t) => ({ t: t.lead!.captureNs, block: t.mic })),
        take(15),
        toArray(),
        timeout(10_000),
      ),
    );
    for (const [i, { t, block }] of tuples.entries()) {
      if (i < 2 && (block === null || block.frames < 160)) continue; // the lead may start before the audio does
      expect(block).not.toBeNull();
      expect(block!.frames).toBe(160); // 20 ms at 8 kHz: the audio was waited for, not cut short
      // Samples are the ramp: identity of every sample.
      for (let i = 0; i < block!.frames; i++) expect(block!.data[i]).toBe(Number((block!.startFrame + BigInt(i)) & 0x7fffn));
      // The block ends at the lead's capture time, to within one sample period (125 µs).
      const endNs = block!.captureNs! + (BigInt(block!.frames) * 1_000_000_000n) / BigInt(rate);
      expect(Number(endNs - t) / 1e3).toBeGreaterThan(-125);
      expect(Number(endNs - t) / 1e3).toBeLessThanOrEqual(125);
    }
    const now = av.read();
    expect(now.mic!.frames).toBe(160);
  });
});
