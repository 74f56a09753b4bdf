// Demo and record output in the checkout (default names: docs/cli.md) must not show up as untracked files,
// and the patterns must not hide anything else.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'sf-gitignore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('.gitignore hides senseflow demo/record session directories and prebuilds, nothing else', () => {
  execFileSync('git', ['init', '-q', dir]);
  copyFileSync(fileURLToPath(new URL('../../../.gitignore', import.meta.url)), join(dir, '.gitignore'));
  const files = {
    'senseflow-demo-20261203-101010/session.json': false,
    'senseflow-20261203-101010/video.mkv': false,
    'examples/senseflow-demo-20261203-101010/audio.wav': false,
    'packages/sinks/native/prebuilds/linux-x64/node.napi.node': false,
    'senseflow-notes.md': true,
    'senseflow-demo.md': true,
    'docs/senseflow-2026.md': true,
  };
  for (const f of Object.keys(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  const untracked = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=all'], { encoding: 'utf8' });
  for (const [f, shown] of Object.entries(files)) expect(untracked.includes(f), f).toBe(shown);
});
