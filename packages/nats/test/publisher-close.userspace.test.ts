// Closing a source ends its NATS publisher's worker (against a real nats-server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTone } from '@senseflow/source-audio';
import { publish } from '@senseflow/nats';
import { natsServerMissing, startNatsServer, type NatsServer } from './nats-server.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);
const suite = natsServerMissing ? describe.skip : describe;

suite(`NATS publisher lifecycle${natsServerMissing ? ` (skipped: ${natsServerMissing})` : ''}`, () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => server?.stop());

  it('closing the source ends the publishing worker by itself, after sending what the ring held', async () => {
    const mic = await openTone({ rate: 16000, channels: 1 });
    const pub = await publish(mic, { servers: server.url, node: 'cascade', stream: 'mic' });
    for (let i = 0; i < 200 && pub.stats().items === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pub.stats().items).toBeGreaterThan(0);
    await mic.close();
    let ended = false;
    await Promise.race([pub.ended.then(() => (ended = true)), new Promise((r) => setTimeout(r, 5000))]);
    expect(ended).toBe(true);
    expect(pub.stats().items).toBeGreaterThan(0);
    expect(pub.stats().lost).toBe(0);
    await pub.close();
  });
});
