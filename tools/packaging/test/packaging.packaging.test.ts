// The packaging tier (docs/testing.md): the scripts that prove senseflow works outside this monorepo.
// Each runs as its own process (spawned asynchronously: a blocked worker loses vitest's RPC heartbeat);
// its output is printed when it fails.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

async function run(script: string, timeoutMs: number): Promise<void> {
  // Own process group, so a timeout ends the script and everything it started (npm, qemu, …).
  const child = spawn('bash', [script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  if (code !== 0) console.error(out.split('\n').slice(-80).join('\n'));
  expect(code, `${script} exited with ${code} (null: killed after ${timeoutMs} ms)`).toBe(0);
}

describe('packaging', () => {
  it('packed tarballs install with plain npm and no compiler, publint/attw clean; an example and `npx senseflow demo` run', async () => {
    await run('scripts/test-packed.sh', 600_000);
  });

  it('arm64: cross-built prebuilds are aarch64 ELF and their native tests pass under qemu-user', async () => {
    await run('scripts/test-arm64.sh', 600_000);
  });
});
