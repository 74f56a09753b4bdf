// The conformance suite can fail: every check passes on a sound source and fails on one broken the way
// that check is there to catch. Broken sources are real sources (the counter fixture, the tone) with one
// behaviour replaced.
import { describe, expect, it } from 'vitest';
import { Observable, Subscription, map, type Observer } from 'rxjs';
import { attachReader, createFrameRing, openSource, type Source, type SourceItem } from '@senseflow/core';
import { conformanceChecks, conformanceSettings, type ConformanceCheck } from '@senseflow/core/testing';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const openCounter = () => openSource(fixture('counter.mjs'), { hz: 200, slots: 16 }, { statsIntervalMs: 250 });
const openRamp = () => openSource(fixture('ramp-audio.mjs'), { rate: 8000 });
const settings = conformanceSettings({ timeoutMs: 3000 });

function check(prefix: string): ConformanceCheck {
  const c = conformanceChecks.find((k) => k.name.startsWith(prefix));
  if (!c) throw new Error(`no check '${prefix}'`);
  return c;
}

/** The real source with some members replaced. */
function broken(src: Source<SourceItem>, overrides: Record<string | symbol, unknown>): Source<SourceItem> {
  return new Proxy(src, {
    get(target, p) {
      if (p in overrides) return overrides[p];
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** Runs `name` on a sound source (must pass) and on the broken one (must fail). */
async function passesThenFails(prefix: string, open: () => Promise<Source<SourceItem>>, breakIt: (src: Source<SourceItem>) => Source<SourceItem>) {
  const c = check(prefix);
  const good = await open();
  try {
    await c.run(good, settings);
  } finally {
    await good.close();
  }
  const real = await open();
  try {
    await expect(c.run(breakIt(real), settings)).rejects.toThrow();
  } finally {
    await real.close();
  }
}

describe('every conformance check fails on a source broken the way it checks', () => {
  it('covers every check (a new check needs a negative test here)', () => {
    expect(conformanceChecks.map((c) => c.name.split(' ')[0])).toEqual(['describes', 'delivers', 'latest()', 'a', 'stats$', 'stop()', 'unsubscribing', 'close()']);
  });

  it('spec: a source that is not running after open', () =>
    passesThenFails('describes', openCounter, (s) => broken(s, { state: 'stopped' })));

  it('order: items whose capture time is in the future', () =>
    passesThenFails('delivers', openCounter, (s) =>
      broken(s, { frames$: s.frames$.pipe(map((i) => ({ ...i, captureNs: i.captureNs + 10_000_000_000n }))) })));

  it('order: seq going backwards', () =>
    passesThenFails('delivers', openCounter, (s) => broken(s, { frames$: s.frames$.pipe(map((i) => ({ ...i, seq: -i.seq }))) })));

  it('latest(): a stale newest item', async () => {
    let frozen: SourceItem | null = null;
    await passesThenFails('latest()', openCounter, (s) =>
      broken(s, {
        latest: () => (frozen ??= s.latest()?.copy() ?? null),
      }),
    );
  });

  it('latest(): audio whose chunks have no frames', () =>
    passesThenFails('latest()', openRamp, (s) => broken(s, { latest: () => ({ ...s.latest()!, frames: 0 }) })));

  it('cross-worker reader: a ring that is not the one the source writes', () =>
    passesThenFails('a reader', openCounter, (s) => broken(s, { ring: createFrameRing({ slots: 16, slotBytes: 16 }) })));

  it('cross-worker reader: items this thread sees differ from the ring (other bytes)', () =>
    passesThenFails('a reader', openCounter, (s) =>
      broken(s, { frames$: s.frames$.pipe(map((i) => (i.kind === 'records' ? { ...i, values: i.values.map((v) => v + 1) } : i))) })));

  it('stats$: a rate of zero while items flow', () =>
    passesThenFails('stats$', openCounter, (s) => broken(s, { stats$: s.stats$.pipe(map((st) => ({ ...st, rate: 0 }))) })));

  it('stats$: a stream at a tenth of its nominal rate', () =>
    passesThenFails('stats$', openCounter, (s) => broken(s, { spec: { ...s.spec, rate: 2000 } })));

  it('stats$: a negative drop count', () =>
    passesThenFails('stats$', openCounter, (s) => broken(s, { stats$: s.stats$.pipe(map((st) => ({ ...st, drops: { ...st.drops, driver: -1 } }))) })));

  it('stop(): a stop that does not stop', () =>
    passesThenFails('stop()', openCounter, (s) => broken(s, { stop: async () => {}, state: 'stopped' })));

  it('stop(): a stop that resolves before capture stopped (items land after it), and the source runs again after', async () => {
    const c = check('stop()');
    const real = await openSource(fixture('ramp-audio.mjs'), { rate: 8000 });
    try {
      // The real stop takes effect 50 ms after this one resolved: about 5 chunks of 8 kHz audio get in.
      const early = broken(real, { stop: async () => void setTimeout(() => void real.stop(), 50), state: 'stopped' });
      await expect(c.run(early, settings)).rejects.toThrow(/newest seq after stop\(\) resolved/);
      expect(real.state).toBe('running'); // restarted even though the check failed: later checks are not starved
    } finally {
      await real.close();
    }
  });

  it('unsubscribe: a frame subscriber that keeps its lease', () =>
    passesThenFails('unsubscribing', openCounter, (s) =>
      broken(s, {
        frames$: new Observable<SourceItem>((sub) => {
          const leaky = attachReader(s.ring);
          const inner = s.frames$.subscribe(sub);
          return () => {
            inner.unsubscribe();
            leaky.latest(); // takes a lease and never gives it back
          };
        }),
      }),
    ));

  it('unsubscribe: audio that keeps delivering after unsubscribe', () =>
    passesThenFails('unsubscribing', openRamp, (s) => {
      // Unsubscribing does not reach the source: the observer keeps being called.
      const frames$ = new Observable<SourceItem>((sub) => s.frames$.subscribe(sub));
      frames$.subscribe = ((o: Partial<Observer<SourceItem>> | ((v: SourceItem) => void)) => {
        const next = typeof o === 'function' ? o : (v: SourceItem) => o?.next?.(v);
        s.frames$.subscribe((v) => next(v));
        return new Subscription();
      }) as typeof frames$.subscribe;
      return broken(s, { frames$ });
    }));

  it('close(): a close that leaves the source open', () =>
    passesThenFails('close()', openCounter, (s) => broken(s, { close: async () => {} })));
});
