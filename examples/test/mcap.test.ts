// Runs examples/mcap-roundtrip.mjs as a user would and checks what it made.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readMcapMessages } from '@senseflow/sinks';

describe('examples/mcap-roundtrip.mjs', () => {
  it('records to MCAP and replays the video with the recorded seq and capture times', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sf-example-mcap-')), 'rec');
    const { stdout } = await promisify(execFile)(process.execPath, [new URL('../mcap-roundtrip.mjs', import.meta.url).pathname, dir, '1.5'], { timeout: 90_000 });
    expect(stdout).toMatch(/\/video\s+foxglove\.RawImage\s+[1-9]\d* messages/);
    expect(stdout).toMatch(/\/audio\s+foxglove\.RawAudio\s+[1-9]\d* messages/);
    const replayed = [...stdout.matchAll(/replayed video seq (\d+) captured at (\d+) ns \(320x240 rgb24\)/g)].map((m) => `${m[1]}@${m[2]}`);
    expect(replayed).toHaveLength(3);
    const recorded: string[] = [];
    for await (const m of readMcapMessages(join(dir, 'session.mcap'), ['/video'])) recorded.push(`${m.sequence}@${m.logTime}`);
    expect(recorded.slice(0, 3)).toEqual(replayed);
  }, 120_000);
});
