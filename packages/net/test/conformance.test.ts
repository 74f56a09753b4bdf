// The core conformance suite against relays: connect() over TCP and WebSocket to a real serve() in another
// process (examples/remote-stream.mjs: a test pattern `cam` and a 48 kHz tone `mic`) on 127.0.0.1, every kind it serves.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { runSourceConformance } from '@senseflow/core/testing';
import { connect } from '@senseflow/net';

const EXAMPLE = fileURLToPath(new URL('../../../examples/remote-stream.mjs', import.meta.url));

let child: ChildProcess | undefined;
let port = 0;

beforeAll(async () => {
  child = spawn(process.execPath, [EXAMPLE, 'serve', '--port', '0', '--width', '64', '--height', '48', '--fps', '30'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child!.stdout! }).once('line', resolve);
    child!.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  port = JSON.parse(line).port;
}, 90_000); // starting a serving process: slow on a loaded machine
afterAll(() => {
  child?.stdin?.end();
});

const url = (transport: 'tcp' | 'ws') => (transport === 'tcp' ? `tcp://127.0.0.1:${port}` : `ws://127.0.0.1:${port}/ws`);

for (const transport of ['tcp', 'ws'] as const) {
  runSourceConformance(`connect() over ${transport}: test pattern (video)`, {
    open: () => connect(url(transport), { stream: 'cam' }),
    kind: 'video',
  });
  runSourceConformance(`connect() over ${transport}: tone (audio)`, {
    open: () => connect(url(transport), { stream: 'mic' }),
    kind: 'audio',
  });
}
