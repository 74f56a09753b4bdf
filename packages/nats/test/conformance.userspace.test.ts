// The core conformance suite against NATS relays: openRemote() on a real nats-server, fed by a publisher in
// another process (fixtures/publisher.mjs: a test pattern, a 16 kHz tone and a 100 Hz records stream).
import { afterAll, beforeAll } from 'vitest';
import { runSourceConformance } from '@senseflow/core/testing';
import { openRemote } from '@senseflow/nats';
import { natsServerMissing, startNatsServer, type NatsServer } from './nats-server.js';
import { startPublisherProcess, type PublisherProcess } from './publisher-process.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);

let server: NatsServer | undefined;
let publisher: PublisherProcess | undefined;
let subjects: string[] = [];

beforeAll(async () => {
  if (natsServerMissing) return;
  server = await startNatsServer();
  publisher = await startPublisherProcess(server.url, 'conformance');
  subjects = publisher.subjects;
}, 90_000); // a nats-server and a publishing process: slow on a loaded machine
afterAll(async () => {
  await publisher?.stop();
  await server?.stop();
});

const skip = natsServerMissing ?? false;
const streams = [
  ['test pattern (video)', 0, 'video'],
  ['tone (audio)', 1, 'audio'],
  ['records', 2, 'records'],
] as const;
for (const [what, i, kind] of streams) {
  runSourceConformance(`openRemote() over NATS: ${what}`, {
    open: () => openRemote({ servers: server!.url, subject: subjects[i] }),
    kind,
    skip,
  });
}
