// Starts a private nats-server (Debian's package) on 127.0.0.1 with a random free port, for one test file.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export const natsServerMissing = (() => {
  try {
    execFileSync('nats-server', ['--version']);
    return null;
  } catch {
    return 'nats-server is not installed (apt-get install nats-server, or run scripts/setup.sh test)';
  }
})();

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export async function startNatsServer(opts: { token?: string; user?: string; pass?: string; maxPayload?: number } = {}): Promise<NatsServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sf-nats-'));
  const conf = [`listen: 127.0.0.1:${port}`, `jetstream { store_dir: "${dir}" }`, `max_payload: ${opts.maxPayload ?? 1048576}`];
  if (opts.token) conf.push(`authorization { token: "${opts.token}" }`);
  if (opts.user) conf.push(`authorization { user: "${opts.user}", password: "${opts.pass}" }`);
  writeFileSync(join(dir, 'nats.conf'), conf.join('\n'));
  let proc: ChildProcess;
  const start = async () => {
    proc = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      const t = setTimeout(() => reject(new Error(`nats-server did not start: ${buf}`)), 10_000);
      proc.stderr!.on('data', (d) => {
        buf += d;
        if (buf.includes('Server is ready')) {
          clearTimeout(t);
          resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${buf}`)));
    });
  };
  const stop = () => new Promise<void>((r) => (proc.exitCode !== null ? r() : (proc.once('exit', () => r()), proc.kill('SIGTERM'))));
  await start();
  return { url: `nats://127.0.0.1:${port}`, port, stop, restart: async () => (await stop(), await start()) };
}
