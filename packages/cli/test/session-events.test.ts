// The CLI's recording loop (runSession, in-process) with a source that really crashes and is restarted by
// its worker host: each source event is printed once on stderr and kept in the manifest with its time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSource } from '@senseflow/core';
import { runSession } from '../src/session.js';

describe('senseflow record: source events', { timeout: 60_000 }, () => {
  it('a crash and its restart are printed once each and kept per stream in session.json', async () => {
    const counter = new URL('../../core/test/fixtures/counter.mjs', import.meta.url);
    const source = await openSource(counter, { hz: 100, crashAfter: 30 }, { autoStart: false, restart: 'on-crash' });
    let err = '';
    const o = { tty: false, out: () => {}, err: (s: string) => void (err += s) };
    const dir = join(mkdtempSync(join(tmpdir(), 'sf-cli-events-')), 's');
    const r = await runSession(o, dir, [{ name: 'c', source, device: 'counter' }], 2, false);
    const lines = err.split('\n');
    expect(lines.filter((l) => /^c: source crashed: .*counter crashed on purpose.* \(restarting\)/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^c: source restarted/.test(l))).toHaveLength(1);
    const events = r.manifest.streams[0].events!;
    // resumed: the first item after the restart, with the loss counted in items
    expect(events.map((e) => e.type)).toEqual(['crashed', 'restarted', 'resumed']);
    for (const e of events) expect(BigInt(e.atNs)).toBeGreaterThan(BigInt(r.manifest.clock.monotonicNs));
    expect(r.manifest.streams[0].drops.restart).toBeGreaterThan(0);
  });
});
