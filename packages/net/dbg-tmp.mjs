import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { firstValueFrom, take } from 'rxjs';
import { connect } from '@senseflow/net';
const child = spawn(process.execPath, ['/work/wt/edge/examples/remote-stream.mjs', 'serve', '--port', '0', '--width', '64', '--height', '48'], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = JSON.parse(await new Promise((r) => createInterface({ input: child.stdout }).once('line', r))).port;
const { mic } = await connect(`tcp://127.0.0.1:${port}`, { streams: ['mic'] });
const chunks = [];
mic.frames$.subscribe((c) => chunks.push([c.startFrame, c.frames, c.flags, c.seq]));
let last = 0;
for (let i = 0; i < 60; i++) {
  await firstValueFrom(mic.frames$.pipe(take(1)));
  await new Promise((r) => setTimeout(r, Math.random() * 10));
  await mic.stop();
  await new Promise((r) => setTimeout(r, 30));
  await mic.start();
  const d = mic.drops().network;
  if (d !== last) { console.log('cycle', i, 'network', d); last = d; }
}
await new Promise((r) => setTimeout(r, 300));
console.log('final', mic.drops());
await mic.close(); child.stdin.end();
