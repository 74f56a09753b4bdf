// `senseflow devices --nats URL` lists the streams published on a NATS server (private nats-server).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openTestPattern } from '@senseflow/source-video';
import { publish } from '@senseflow/nats';
import { natsServerMissing, startNatsServer } from '../../nats/test/nats-server.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);
const bin = new URL('../dist/bin.js', import.meta.url).pathname;

describe.skipIf(!!natsServerMissing)(`senseflow devices --nats${natsServerMissing ? ` (skipped: ${natsServerMissing})` : ''}`, () => {
  it('lists live published streams, in text and JSON', async () => {
    const server = await startNatsServer();
    const cam = await openTestPattern({ width: 160, height: 120, fps: 10 });
    const pub = await publish(cam, { servers: server.url, node: 'cli', stream: 'front' });
    try {
      const run = (...a: string[]) => promisify(execFile)(process.execPath, [bin, 'devices', '--nats', server.url, ...a], { timeout: 60_000 });
      const text = (await run()).stdout;
      expect(text).toContain(`Remote streams on NATS (1):`);
      expect(text).toContain(`${pub.subject}  [test pattern] 160x120@10fps, rgb24`);
      const json = JSON.parse((await run('--json')).stdout);
      expect(json.remote.map((r: { subject: string }) => r.subject)).toEqual([pub.subject]);
      expect(json.remote[0].spec.kind).toBe('video');
      const unreachable = await promisify(execFile)(process.execPath, [bin, 'devices', '--nats', 'nats://127.0.0.1:1'], { timeout: 60_000 }).catch((e) => e);
      expect(unreachable.code).toBe(3); // not found: the server cannot be reached
      expect(unreachable.stderr).toMatch(/cannot reach the NATS server at nats:\/\/127.0.0.1:1/);
    } finally {
      await pub.close();
      await cam.close();
      await server.stop();
    }
  });
});
