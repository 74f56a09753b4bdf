// `senseflow serve --foxglove` as a real process (packages/cli/dist/bin.js), read by a @foxglove/ws-protocol client.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { protobufFromBinaryDescriptor } from '@mcap/support';
import { collectFoxglove } from './foxglove-helpers.js';

const BIN = new URL('../../cli/dist/bin.js', import.meta.url).pathname;

describe('senseflow serve --foxglove', { timeout: 90_000 }, () => {
  it('serves every stream to a Foxglove client at the source rate', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--video', 'test', '--size', '160x120', '--fps', '15', '--audio', 'test', '--stats', '--stats-hz', '10', '--port', '0', '--foxglove', '--foxglove-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no foxglove line: ${out}`)), 60_000);
        child.stdout.on('data', (b) => {
          out += b;
          const m = /foxglove:\s+(ws:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      const { channels, got, seconds } = await collectFoxglove(url, 3000);
      const byTopic = Object.fromEntries(channels.map((c) => [c.topic, c]));
      for (const t of ['/video', '/audio', '/stats']) expect(got.get(t)?.length ?? 0).toBeGreaterThan(0);
      expect(got.get('/video')!.length / seconds).toBeGreaterThan(15 * 0.6);
      expect(got.get('/stats')!.length / seconds).toBeGreaterThan(10 * 0.6);
      const Aud = protobufFromBinaryDescriptor(Buffer.from(byTopic['/audio'].schema, 'base64')).lookupType('foxglove.RawAudio');
      let frames = 0;
      let rate = 0;
      for (const m of got.get('/audio')!) {
        const a = Aud.decode(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength)) as unknown as { sample_rate: number; number_of_channels: number; data: Uint8Array };
        rate = a.sample_rate;
        frames += a.data.byteLength / (2 * a.number_of_channels);
      }
      expect(frames / seconds).toBeGreaterThan(rate * 0.6);
      const Raw = protobufFromBinaryDescriptor(Buffer.from(byTopic['/video'].schema, 'base64')).lookupType(byTopic['/video'].schemaName);
      const v = got.get('/video')!.at(-1)!;
      const img = Raw.decode(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)) as unknown as { width: number; height: number };
      expect([img.width, img.height]).toEqual([160, 120]);
      expect(JSON.parse(new TextDecoder().decode(got.get('/stats')!.at(-1)!.data)).seq).toBeGreaterThanOrEqual(0);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await new Promise((r) => child.on('exit', r));
      }
    }
  });
});
