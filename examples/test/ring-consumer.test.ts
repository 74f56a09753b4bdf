// Runs examples/ring-consumer.mjs as a user would and checks what it prints.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('ring-consumer: a worker consumes a ring in batches and ends when the source closes; history(10) keeps frames', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [new URL('../ring-consumer.mjs', import.meta.url).pathname, '1.5'], { timeout: 60_000 });
  const h = /history\(10\): (\d+) frames, seq (\d+)…(\d+), 320x240/.exec(stdout)!;
  expect(Number(h[1])).toBeGreaterThanOrEqual(9);
  expect(Number(h[3]) - Number(h[2])).toBe(Number(h[1]) - 1); // consecutive, oldest first
  const w = /worker: (\d+) records in (\d+) wake-ups, lost (\d+) .*ended because the ring closed/.exec(stdout)!;
  expect(Number(w[1])).toBeGreaterThan(0);
  expect(Number(w[2])).toBeLessThanOrEqual(Number(w[1])); // batched: never more wake-ups than records
});
