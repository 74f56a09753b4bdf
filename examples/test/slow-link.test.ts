// Runs examples/slow-link.mjs as a user would: a bare protocol client reading at 640 KB/s, with and without ACKs.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const EXAMPLE = fileURLToPath(new URL('../slow-link.mjs', import.meta.url));
const run = async (...args: string[]) => {
  const { stdout } = await promisify(execFile)(process.execPath, [EXAMPLE, '--seconds', '9', ...args], { timeout: 60_000 });
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
};

describe('examples/slow-link.mjs', () => {
  it('an acking client reading 640 KB/s of a 7 MB/s stream gets frames at most maxAgeMs (1 s) old; without ACKs they are seconds old', async () => {
    const [acking, plain] = await Promise.all([run(), run('--no-ack')]);
    const a = acking.at(-1) as { summary: boolean; frames: number; maxAgeMs: number; flow: { acks: number } | null };
    const p = plain.at(-1) as { summary: boolean; frames: number; maxAgeMs: number; flow: unknown };
    expect(a.summary).toBe(true);
    expect(a.frames).toBeGreaterThan(3);
    expect(a.maxAgeMs).toBeLessThanOrEqual(1000);
    expect(a.flow!.acks).toBeGreaterThan(10);
    expect(p.flow).toBeNull();
    expect(p.maxAgeMs).toBeGreaterThan(1000); // the kernel's buffers: what flow control is for
  });
});
