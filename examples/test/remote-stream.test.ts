import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs examples/remote-stream.mjs as a user would: one process serves, another views.
const EXAMPLE = fileURLToPath(new URL('../remote-stream.mjs', import.meta.url));

describe('examples/remote-stream.mjs', () => {
  let server: ChildProcess;
  let port = 0;

  beforeAll(async () => {
    server = spawn(process.execPath, [EXAMPLE, 'serve', '--port', '0', '--token', 'ex', '--width', '320', '--height', '240'], { stdio: ['pipe', 'pipe', 'inherit'] });
    port = JSON.parse(await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', resolve);
      server.once('exit', (c) => reject(new Error(`serve exited with ${c}`)));
    })).port;
  }, 90_000); // starting a serving process: slow on a loaded machine
  afterAll(() => server?.stdin?.end());

  const view = async (url: string, ...args: string[]) => {
    const { stdout } = await promisify(execFile)(process.execPath, [EXAMPLE, 'view', url, '--token', 'ex', '--seconds', '2', ...args], { timeout: 30_000 });
    return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  it('views the served camera over TCP: frames in order, at the source rate', async () => {
    const lines = await view(`tcp://127.0.0.1:${port}`, '--stream', 'cam');
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({ summary: true, outOfOrder: 0, spec: { kind: 'video', width: 320, height: 240 } });
    expect(summary.items as number).toBeGreaterThan(20); // ~60 in 2 s at 30 fps
  });

  it('views every stream over one connection (connect() without `stream`): audio rate in samples/s', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [EXAMPLE, 'view-all', `ws://127.0.0.1:${port}/ws`, '--token', 'ex', '--seconds', '2'], { timeout: 30_000 });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { stream: string; kind: string; items: number; rate: number; bytesReceived: number });
    expect(lines.map((l) => l.stream).sort()).toEqual(['cam', 'mic']);
    const cam = lines.find((l) => l.stream === 'cam')!;
    const mic = lines.find((l) => l.stream === 'mic')!;
    expect(cam.items).toBeGreaterThan(10);
    expect(mic.rate).toBeGreaterThan(30_000); // samples per second (48 kHz), not chunks (100/s)
    // One connection carries both: the same counter (read a moment apart while it still runs).
    expect(Math.abs(mic.bytesReceived - cam.bytesReceived)).toBeLessThan(0.05 * cam.bytesReceived);
  });

  it('views the tone over WebSocket', async () => {
    const lines = await view(`ws://127.0.0.1:${port}/ws`, '--stream', 'mic');
    expect(lines.at(-1)).toMatchObject({ summary: true, outOfOrder: 0, spec: { kind: 'audio', rate: 48000, channels: 2 } });
    expect(lines.at(-1)!.items as number).toBeGreaterThan(10);
  });

  it('refuses a wrong token with a clear error', async () => {
    const r = await promisify(execFile)(process.execPath, [EXAMPLE, 'view', `tcp://127.0.0.1:${port}`, '--token', 'wrong'], { timeout: 30_000 }).catch((e: { stderr: string; code: number }) => e);
    expect((r as { code: number }).code).not.toBe(0);
    expect((r as { stderr: string }).stderr).toMatch(/bad or missing token/);
  });
});
