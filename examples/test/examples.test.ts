// Runs each example as a user would (a separate node process) and checks what it prints.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const runWith = async (env: Record<string, string>, file: string, ...args: string[]) =>
  (await promisify(execFile)(process.execPath, [new URL(`../${file}`, import.meta.url).pathname, ...args], { timeout: 60_000, env: { ...process.env, ...env } })).stdout;
const run = (file: string, ...args: string[]) => runWith({}, file, ...args);

describe('examples', () => {
  it('custom-sensor: a third-party plugin opens by file URL and streams records', async () => {
    const out = await run('custom-sensor.mjs', '1.5');
    expect(out).toMatch(/opened \[imu\] simulated, 200 Hz; fields: ax \[m\/s²\]/);
    const n = Number(/received (\d+) records/.exec(out)![1]);
    expect(n).toBeGreaterThan(100); // 1.5 s at 200 Hz ≈ 300
    // ctx.loop keeps cadence: the median interval is the period, and a late tick never turns into a burst of
    // back-to-back records (a tick waits for its own deadline; overdue ones are skipped and counted).
    const [, median, bursts] = /intervals: median ([\d.]+) ms, (\d+) bursts/.exec(out)!.map(Number);
    expect(median).toBeGreaterThan(4); // never faster than the period …
    expect(bursts).toBe(0);
    // … and every deadline is either a record or a counted skipped tick.
    const [, accounted, due] = /= (\d+) of (\d+) due/.exec(out)!.map(Number);
    expect(Math.abs(accounted - due)).toBeLessThanOrEqual(5);
  });

  it('supervision: a plugin that hangs and then fails is restarted twice, and every lost record is counted', async () => {
    const out = await run('supervision.mjs');
    expect(out).toMatch(/crashed \(hung\): the worker's event loop has not turned .* — restarting/);
    expect(out).toMatch(/crashed \(failed\): sensor read failed — restarting/);
    expect(out.match(/resumed: \d+ records lost in the gap/g)).toHaveLength(2);
    const [, expected, received, counted] = /expected (\d+) records, received (\d+), counted lost (\d+)/.exec(out)!.map(Number);
    expect(counted).toBeGreaterThan(50); // at least the hung second
    expect(Math.abs(expected - received - counted)).toBeLessThanOrEqual(2); // ± 1 per restart
  });

  it('control-loop: a 100 Hz loop acts on fresh data from latest()', async () => {
    const out = await run('control-loop.mjs', '2');
    const ticks = Number(/ticks: (\d+)/.exec(out)![1]);
    expect(ticks).toBeGreaterThan(100);
    const frameAge = Number(/median frame age ([\d.]+) ms/.exec(out)![1]);
    expect(frameAge).toBeLessThan(100); // newest frame, never a queue of stale ones
  });

  it('av-capture: camera + microphone combined, falling back to test sources and saying so', async () => {
    const out = await run('av-capture.mjs', '2');
    expect(out).toMatch(/video: \[/);
    expect(out).toMatch(/audio: \[/);
    expect(out).toMatch(/read\(\): frame seq \d+ \(640x480\), 4800 audio frames/);
    expect(Number(/aligned tuples: (\d+)/.exec(out)![1])).toBeGreaterThan(10);
  });

  it('spectrogram: a missing microphone falls back to the tone, says why, and every hop is delivered with its peak at 440 Hz', async () => {
    const out = await runWith({ SENSEFLOW_MIC: 'hw:99,0' }, 'spectrogram.mjs', '2');
    expect(out).toMatch(/microphone: ALSA device 'hw:99,0' not found .* — using a 440 Hz tone/);
    // 4096-frame windows at 48 kHz: a bin is 11.7 Hz wide, so the peak is the bin nearest 440 Hz.
    const loudest = [...out.matchAll(/ch(\d) ([\d.]+) Hz/g)].map((m) => Number(m[2]));
    expect(loudest.length).toBeGreaterThanOrEqual(2);
    for (const hz of loudest) expect(Math.abs(hz - 440)).toBeLessThan(11.7);
    const [, delivered, computed, lost, overwritten] = /frames delivered: (\d+), computed (\d+), lost (\d+), overwritten (\d+)/.exec(out)!.map(Number);
    expect(computed).toBeGreaterThan(20); // 2 s at 23.4 hops a second, less the start
    expect(delivered).toBe(computed);
    expect(lost + overwritten).toBe(0);
    // Batched: fewer worker wake-ups than hops.
    const [, wakes, hops] = /worker: (\d+) wake-ups for (\d+) hops/.exec(out)!.map(Number);
    expect(wakes).toBeLessThan(hops);
  });
});
