import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { natsServerMissing, startNatsServer } from '../../packages/nats/test/nats-server.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);

describe.skipIf(!!natsServerMissing)(`example: nats-graph${natsServerMissing ? ` (skipped: ${natsServerMissing})` : ''}`, () => {
  it('publishes, discovers and receives across the NATS server', async () => {
    const server = await startNatsServer();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [new URL('../nats-graph.mjs', import.meta.url).pathname, server.url, '2'], { timeout: 60_000 });
      expect(stdout).toMatch(/live streams: .*sf\.[\w-]+\.robot\.cam \(video\).*sf\.[\w-]+\.robot\.imu \(records\)|live streams: .*imu \(records\).*cam \(video\)/);
      const m = /received (\d+) frames \(latest seq \d+, 640x480\) and (\d+) imu records/.exec(stdout)!;
      expect(Number(m[1])).toBeGreaterThan(20);
      expect(Number(m[2])).toBeGreaterThan(50);
      expect(stdout).toMatch(/clock offset to the robot: -?[\d.]+ ms ± [\d.]+ ms/);
    } finally {
      await server.stop();
    }
  });
});
