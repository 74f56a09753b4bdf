import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const addon = fileURLToPath(new URL('../native/build/Release/senseflow_v4l2.node', import.meta.url));

// Runs in a child process so that an abort (the failure this guards against) fails the test instead of
// killing the test runner.
const script = `
const { Worker } = require('node:worker_threads');
const code = \`
const n = require(${JSON.stringify(addon)});
const fcc = (s) => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
const src = new Uint8Array(1280 * 720 * 2), dst = new Uint8Array(1280 * 720 * 3);
require('node:worker_threads').parentPort.postMessage('go');
for (;;) {
  n.convertFrame(src, fcc('YUYV'), 1280, 720, 0, dst, fcc('RGB3'));
  const d = new n.Device();
  try { d.open('/nonexistent/video'); } catch {}
  try { d.querycap(); } catch {}
}\`;
(async () => {
  for (let i = 0; i < 40; i++) {
    const w = new Worker(code, { eval: true });
    await new Promise((r) => w.once('message', r));
    await new Promise((r) => setTimeout(r, 5 + (i % 9) * 3));
    await w.terminate();
  }
  // and the addon still works on this thread afterwards
  const n = require(${JSON.stringify(addon)});
  const d = new n.Device();
  try { d.open('/nonexistent/video'); } catch (e) { console.log(e.code); }
})();
`;

describe('addon under worker termination', () => {
  it('a worker terminated in the middle of native calls never aborts the process (40 rounds)', () => {
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toContain('terminate called');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('ENOENT');
  });

  it('loads in several workers at once, each with its own instance', () => {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const { Worker } = require('node:worker_threads');
         const code = "const n = require(${JSON.stringify(addon).replace(/"/g, '\\"')}); const d = new n.Device(); try { d.open('/dev/null'); d.querycap(); } catch (e) { require('node:worker_threads').parentPort.postMessage(e.code); }";
         Promise.all([1, 2, 3, 4].map(() => new Promise((res, rej) => { const w = new Worker(code, { eval: true }); w.once('message', res); w.once('error', rej); })))
           .then((codes) => console.log(codes.join(',')));`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ENOTTY,ENOTTY,ENOTTY,ENOTTY');
  });
});
