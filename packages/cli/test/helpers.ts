// Runs the built `senseflow` binary (packages/cli/dist/bin.js: `pnpm --filter @senseflow/cli... build` first)
// as a child process, without blocking the test worker (vitest must keep answering its RPC).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = new URL('../dist/bin.js', import.meta.url).pathname;
export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `sf-cli-${prefix}-`));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StartOptions {
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The child is killed after this long (default 120 s), so a hung CLI fails its test instead of the run. */
  killAfterMs?: number;
  /** Called with all of stderr so far, each time more arrives. */
  onStderr?: (all: string) => void;
}

/** Starts the CLI; `done` resolves with its exit code. */
export function start(args: string[], opts: StartOptions = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached, env: opts.env ?? process.env });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s) => {
    err += s;
    opts.onStderr?.(err);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 120_000);
  const done = new Promise<number | null>((r) =>
    child.on('close', (c) => {
      clearTimeout(timer);
      r(c);
    }),
  );
  return { child, done, out: () => out, err: () => err };
}

/** Runs the CLI to its end. */
export async function run(args: string[], opts: StartOptions = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = start(args, opts);
  const code = await p.done;
  return { code, out: p.out(), err: p.err() };
}
