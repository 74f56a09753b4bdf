// A real sender restart under a connected remote source: the serving process is killed and a new one starts
// on the same port (seq from 0). The relay must deliver the new life at once and count the gap.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { monotonicNs, type AudioChunk, type SourceEvent, type SourceStats, type VideoFrame } from '@senseflow/core';
import { connect, type RemoteSource } from '@senseflow/net';
import { decodePattern, patternGeometry, until } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/remote-stream.mjs', import.meta.url));
const FPS = 30;
const g = patternGeometry(64, 48, 'rgb24');

async function startServer(port: number): Promise<{ child: ChildProcess; port: number; readyNs: bigint }> {
  const child = spawn(process.execPath, [EXAMPLE, 'serve', '--port', String(port), '--width', '64', '--height', '48', '--fps', String(FPS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  return { child, port: JSON.parse(line).port as number, readyNs: monotonicNs() };
}

const kill = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGKILL'))));

describe('remote source across a real server restart', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await kill(c);
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`${transport}: video from the new server within 2 s of it listening; the gap counted by time × rate`, async () => {
      const first = await startServer(0);
      children.push(first.child);
      const url = transport === 'tcp' ? `tcp://127.0.0.1:${first.port}` : `ws://127.0.0.1:${first.port}/ws`;
      const cam = (await connect(url, { stream: 'cam' })) as RemoteSource<VideoFrame>;
      const events: SourceEvent[] = [];
      const evSub = cam.events$.subscribe((e) => events.push(e));
      try {
        // The old server runs long enough that its seq is far above where the new one starts.
        await until(() => (cam.latest()?.seq ?? 0n) > 120n, 20_000);
        const oldLast = cam.latest()!.captureNs;
        const dropsBefore = cam.drops().network;
        await kill(first.child);
        const killedNs = monotonicNs();
        const second = await startServer(first.port);
        children.push(second.child);
        // Fresh = an item captured by the new server (same host: one CLOCK_MONOTONIC for both processes).
        await until(() => (cam.latest()?.captureNs ?? 0n) > killedNs, 15_000);
        const freshAt = monotonicNs();
        const v = cam.latest()!;
        const px = decodePattern(v.data, g);
        expect(px.captureNs).toBe(v.captureNs);
        // The new server can send its first item once it listens (it prints its port then; its camera
        // started earlier). From there the relay must show a fresh frame within 2 s (reconnect backoff ≤ 1 s).
        expect(Number(freshAt - second.readyNs) / 1e6).toBeLessThan(2000);
        expect(v.seq).toBeGreaterThan(120n); // local seqs stay monotonic across lives
        // The event is a message from the receive worker and the frame went through the ring: the frame can be
        // seen first (docs/architecture.md, "Events and items"). It follows within an event-loop turn or two.
        const isEpoch = (e: SourceEvent) => e.type === 'custom' && e.name === 'epoch';
        await until(() => events.some(isEpoch), 2000).catch(() => {});
        const epoch = events.find(isEpoch);
        expect(epoch, JSON.stringify(events, (_k, x) => (typeof x === 'bigint' ? String(x) : x))).toBeDefined();
        const lost = (epoch as { payload: { lost: number } }).payload.lost;
        // The gap: from the old server's last delivered frame to the new one's first delivered frame, at 30 fps.
        const gapFrames = (Number(px.captureNs - oldLast) / 1e9) * FPS;
        expect(lost).toBeGreaterThan(gapFrames * 0.5);
        expect(lost).toBeLessThan(gapFrames * 1.5 + 5);
        expect(cam.drops().network - dropsBefore).toBeGreaterThanOrEqual(lost);
        // And it keeps flowing.
        const n = cam.latest()!.seq;
        await until(() => cam.latest()!.seq > n + 5n, 5000);
      } finally {
        evSub.unsubscribe();
        await cam.close();
      }
    }, 90_000);
  }

  it('ws: a silent stream is reported stale (event + stats$) within max(1 s, 3 periods); audio from the new server at once, the gap counted in frames', async () => {
    const first = await startServer(0);
    children.push(first.child);
    const mic = (await connect(`ws://127.0.0.1:${first.port}/ws`, { stream: 'mic', statsIntervalMs: 100 })) as RemoteSource<AudioChunk>;
    const events: SourceEvent[] = [];
    const evSub = mic.events$.subscribe((e) => events.push(e));
    let lastStats: SourceStats | null = null;
    const statsSub = mic.stats$.subscribe((s) => (lastStats = s));
    try {
      await until(() => (mic.latest()?.startFrame ?? 0n) > 48_000n * 3n, 20_000);
      expect(lastStats!.stale).toBe(false);
      const before = mic.drops().network;
      await kill(first.child);
      const killedNs = monotonicNs();
      await until(() => events.some((e) => e.type === 'custom' && e.name === 'stale'), 5000);
      const staleAfterMs = Number(monotonicNs() - killedNs) / 1e6;
      expect(staleAfterMs).toBeGreaterThanOrEqual(900); // not before the threshold (1 s: the tone's period is 10 ms)…
      expect(staleAfterMs).toBeLessThan(2500); // …and soon after it (generous: a loaded machine)
      await until(() => lastStats!.stale, 2000);
      const second = await startServer(first.port);
      children.push(second.child);
      await until(() => (mic.latest()?.captureNs ?? 0n) > killedNs, 15_000);
      const c = mic.latest()!;
      // The new life's chunks arrive within 2 s of the new server being up.
      expect(Number(monotonicNs() - second.readyNs) / 1e6).toBeLessThan(2000);
      const lostFrames = mic.drops().network - before;
      // At least the second the port stood empty, at 48 kHz.
      expect(lostFrames).toBeGreaterThan(1 * 48_000);
      expect(c.captureNs).toBeGreaterThan(killedNs);
      await until(() => events.some((e) => e.type === 'custom' && e.name === 'live') && !lastStats!.stale, 3000);
    } finally {
      evSub.unsubscribe();
      statsSub.unsubscribe();
      await mic.close();
    }
  }, 90_000);
});
