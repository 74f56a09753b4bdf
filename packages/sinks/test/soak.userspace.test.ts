/**
 * Memory guard (a resource check, not a timing one): records a 640x480 30 fps test pattern + 48 kHz stereo
 * tone + 100 Hz sysstats through bench/soak.bench.mjs for 3 minutes and fails if RSS grows faster than
 * 2 MB/min after the first minute (the goal, measured over 10 minutes in docs/performance.md, is 0.5).
 *
 * What it measures: RSS after a full GC in every thread (the bench preloads bench/thread-memory.cjs into the
 * 6 workers) with V8's young generation capped at 1 MB per isolate. Without that, the first minutes' growth
 * was the workers' V8 heaps settling — garbage awaiting each isolate's first mark-compact and a sink worker's
 * new space growing 1 → 8 → 16 MB — while their live heaps stayed flat (docs/performance.md, 2026-12-03);
 * that is what failed the earlier 4-minute version. The second test, run at the same time, leaks a buffer
 * per video frame and shows the guard fails on a real leak.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireTools } from './file-helpers.js';

const BENCH = fileURLToPath(new URL('../../../bench/soak.bench.mjs', import.meta.url));
const missing = requireTools('ffmpeg');
const LIMIT_MB_PER_MIN = 2;

interface Soak {
  slopeMbPerMin: number;
  perMinute: { minute: number; rssMb: number; liveHeapMb: number }[];
  items: number[];
  drops: Record<string, number>[];
  workersGcMin: number;
  leakedMb: number;
}

function soak(minutes: number, warmup: number, leakBytes = 0): Promise<Soak> {
  const args = [BENCH, '--only', 'record', '--minutes', String(minutes), '--warmup', String(warmup), '--leak-bytes', String(leakBytes), '--json'];
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { timeout: (minutes + 2) * 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!).record as Soak),
    ),
  );
}

/** What was measured, for the failure message: a reader tells a leak from a machine too loaded to keep up. */
const explain = (r: Soak) => JSON.stringify({ perMinute: r.perMinute, items: r.items, drops: r.drops, workersGcMin: r.workersGcMin });

// The two recordings run side by side (separate processes, each measures its own RSS): ≈ 3.5 min in all.
describe.skipIf(missing)(`memory guard${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it.concurrent(`a recording of video + audio + records grows RSS by at most ${LIMIT_MB_PER_MIN} MB/min after the first minute (3 minutes)`, async () => {
    const r = await soak(3, 1);
    expect(r.perMinute).toHaveLength(3);
    expect(r.items.every((n) => n > 0), explain(r)).toBe(true); // every stream was recorded
    expect(r.workersGcMin, explain(r)).toBe(6); // every sample was taken after a GC in all 6 workers
    expect(r.slopeMbPerMin, explain(r)).toBeLessThanOrEqual(LIMIT_MB_PER_MIN);
  }, 330_000);

  it.concurrent('fails on a real leak: 8 KiB kept per video frame (≈ 14 MB/min) reads above the limit', async () => {
    const r = await soak(1.5, 0.5, 8192);
    expect(r.leakedMb, explain(r)).toBeGreaterThan(5); // the leak happened (frames arrived)
    expect(r.slopeMbPerMin, explain(r)).toBeGreaterThan(LIMIT_MB_PER_MIN);
  }, 240_000);
});
