// The packaging tier (docs/testing.md): the scripts that prove senseflow works outside this monorepo.
// Each runs as its own process; its output is printed when it fails.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function run(script: string, timeoutMs: number): void {
  const r = spawnSync('bash', [script], { cwd: root, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 26 });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) console.error(out.split('\n').slice(-80).join('\n'));
  expect(r.error, `${script} could not run or timed out`).toBeUndefined();
  expect(r.status, `${script} exited with ${r.status}`).toBe(0);
}

describe('packaging', () => {
  it('packed tarballs install with plain npm and no compiler, publint/attw clean; an example and `npx senseflow demo` run', () => {
    run('scripts/test-packed.sh', 420_000);
  });

  it('arm64: cross-built prebuilds are aarch64 ELF and their native tests pass under qemu-user', () => {
    run('scripts/test-arm64.sh', 420_000);
  });
});
