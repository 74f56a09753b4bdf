import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
export const REAL = join(FIXTURES, 'debian12-vm');
export const SYNTH = join(FIXTURES, 'synthetic-container');
export const realMeta = JSON.parse(readFileSync(join(REAL, 'meta.json'), 'utf8')) as { pid: number; elapsedMs: number };

export const fixture = (dir: string, t: 't0' | 't1', path: string): Buffer => readFileSync(join(dir, t, path));

/** Whitespace-split columns of the line starting with `prefix` (the independent, string-based reading). */
export function columns(text: string, prefix: string): string[] {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(prefix));
  if (!line) throw new Error(`no line ${prefix}`);
  return line.trim().split(/\s+/);
}

/**
 * A replayable copy of a fixture: starts as `t0`; `advance()` overwrites every file with its `t1` content
 * in place (same inode), which is what an open fd re-reading procfs sees.
 */
export function replay(dir: string) {
  const root = mkdtempSync(join(tmpdir(), 'sysstats-replay-'));
  cpSync(join(dir, 't0'), root, { recursive: true });
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, 't1', rel))) {
      const r = join(rel, e);
      if (statSync(join(dir, 't1', r)).isDirectory()) walk(r);
      else writeFileSync(join(root, r), readFileSync(join(dir, 't1', r)));
    }
  };
  return {
    procRoot: join(root, 'proc'),
    sysRoot: join(root, 'sys'),
    advance: () => walk(''),
    write: (rel: string, content: string) => writeFileSync(join(root, rel), content),
    remove: (rel: string) => rmSync(join(root, rel)),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}
