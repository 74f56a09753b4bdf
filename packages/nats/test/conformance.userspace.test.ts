// The core conformance suite against NATS relays: openRemote() on a real nats-server, fed by a publisher in
// another process (fixtures/publisher.mjs: a test pattern, a 16 kHz tone and a 100 Hz records stream).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { runSourceConformance } from '@senseflow/core/testing';
import { openRemote } from '@senseflow/nats';
import { natsServerMissing, startNatsServer, type NatsServer } from './nats-server.js';

if (natsServerMissing && process.env.CI) throw new Error(natsServerMissing);

let server: NatsServer | undefined;
let child: ChildProcess | undefined;
let subjects: string[] = [];

beforeAll(async () => {
  if (natsServerMissing) return;
  server = await startNatsServer();
  child = spawn(process.execPath, [new URL('./fixtures/publisher.mjs', import.meta.url).pathname, server.url, 'conformance'], { stdio: ['pipe', 'pipe', 'inherit'] });
  subjects = await new Promise<string[]>((res, rej) => {
    child!.stdout!.on('data', (d) => String(d).startsWith('ready') && res(String(d).trim().split(' ').slice(1)));
    child!.once('exit', (c) => rej(new Error(`publisher exited ${c}`)));
  });
}, 90_000); // a nats-server and a publishing process: slow on a loaded machine
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.stdin!.write('stop\n'); // the fixture closes its publishers and exits on any stdin data
    await exited;
  }
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
