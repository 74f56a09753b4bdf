// Unit tier, on the host: run-in-vm.sh's contract (usage errors, exit codes, output streams,
// shares, the throw-away root, VM_APPEND and VM_ICOUNT). Three of these boot the VM (a few seconds
// each on an idle machine), so they are few; they skip when qemu is not installed, except under CI.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../fixtures/processes.mjs';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'run-in-vm.sh');
const hasQemu = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const missing = hasQemu ? '' : 'qemu-system-x86_64 not installed (apt-get install qemu-system-x86)';
if (missing && process.env.CI) throw new Error(missing);
const BOOT_MS = 300_000; // a boot is ~3 s on an idle machine, far more on a busy one

describe('run-in-vm.sh usage (no boot)', () => {
  it('exits 2 with a usage line when no command is given', async () => {
    const r = await run('bash', [SCRIPT]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: run-in-vm.sh/);
  });

  it('exits 2 on an unknown option and on a bad --timeout', async () => {
    const unknown = await run('bash', [SCRIPT, '--frobnicate', 'true']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option --frobnicate/);
    const bad = await run('bash', [SCRIPT, '--timeout', 'soon', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--timeout wants seconds/);
  });

  it('--help documents the exit codes', async () => {
    const r = await run('bash', [SCRIPT, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/124 the VM hit --timeout; 125 the VM died/);
  });
});

describe.skipIf(missing)(`run-in-vm.sh in the VM${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'senseflow-vm-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "returns the command's exit code and output; the cwd is shared, the root is not",
    async () => {
      const probe = `/senseflow-overlay-probe-${process.pid}`;
      const script = [
        'echo "to stdout"',
        'echo "to stderr" >&2',
        'printf "%s|" "$1" "$2"', // arguments arrive intact, quotes and spaces included
        'echo; pwd',
        'echo written-in-guest > shared.txt',
        `touch ${probe}`, // lands in the discarded overlay, never on the host
        'test "$IN_SENSEFLOW_VM" = 1 || exit 3',
        'exit 42',
      ].join('\n');
      const r = await run('bash', [SCRIPT, '--modules', '', '--', 'sh', '-c', script, 'sh', "it's", 'a b'], { cwd: dir, timeoutMs: BOOT_MS });
      expect(r.code, r.stderr).toBe(42);
      expect(r.stdout.toString()).toBe(`to stdout\nit's|a b|\n${dir}\n`);
      expect(r.stderr).toContain('to stderr');
      expect(readFileSync(join(dir, 'shared.txt'), 'utf8')).toBe('written-in-guest\n');
      expect(existsSync(probe)).toBe(false);
    },
    BOOT_MS,
  );

  it(
    'VM_APPEND reaches the guest kernel; with VM_ICOUNT a CPU time counts instructions (same work, same time)',
    async () => {
      // The children's CPU ticks (cutime + cstime, 1/100 s) of the same awk loop, twice, then of twice the loop.
      // Counting instructions, twice the loop takes twice the time; in emulated time it does not, because
      // translating awk's code at each start is a fixed cost there (77, 73, 144 ticks without VM_ICOUNT).
      const script = [
        'grep -o "sf.probe=[a-z]*" /proc/cmdline',
        'ticks() { awk \'{ print $16 + $17 }\' /proc/$$/stat; }',
        'loop() { awk -v n="$1" \'BEGIN { for (i = 0; i < n; i++) s += i }\'; }',
        'for n in 2000000 2000000 4000000; do a=$(ticks); loop $n; echo "$n $(( $(ticks) - a ))"; done',
      ].join('\n');
      const r = await run('bash', [SCRIPT, '--modules', '', '--cpus', '1', '--', 'sh', '-c', script], {
        cwd: dir,
        timeoutMs: BOOT_MS,
        env: { ...process.env, VM_ICOUNT: '0', VM_APPEND: 'sf.probe=yes' },
      });
      expect(r.code, r.stderr).toBe(0);
      const [probe, ...rows] = r.stdout.toString().trim().split('\n');
      expect(probe).toBe('sf.probe=yes');
      const t = rows.map((l) => Number(l.split(' ')[1]));
      const why = r.stdout.toString();
      expect(t[0], why).toBeGreaterThanOrEqual(50); // long enough for 1/100 s ticks to resolve a few %
      expect(Math.abs(t[1] - t[0]) / t[0], why).toBeLessThanOrEqual(0.05);
      expect(t[2] / t[0], why).toBeGreaterThan(1.92);
      expect(t[2] / t[0], why).toBeLessThan(2.08);
    },
    BOOT_MS,
  );

  it(
    'exits 124 when the command outlives --timeout',
    async () => {
      const r = await run('bash', [SCRIPT, '--modules', '', '--timeout', '5', 'sleep', '600'], { cwd: dir, timeoutMs: BOOT_MS });
      expect(r.code).toBe(124);
      expect(r.stderr).toMatch(/timed out after 5s/);
    },
    BOOT_MS,
  );
});
