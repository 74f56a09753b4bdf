// The two-process fixture (fixtures/publisher.mjs: a test pattern, a 16 kHz tone and a 100 Hz records stream,
// published from another process), started and stopped within bounds: a publisher that dies or hangs fails
// the test naming it, instead of leaving it waiting on an 'exit' that already happened.
import { spawn } from 'node:child_process';
import { monotonicNs } from '@senseflow/core';
import { within } from '@senseflow/core/testing';

export interface PublisherProcess {
  /** Data subjects: cam, mic, imu. */
  subjects: string[];
  /** When it printed `ready`: each stream had published its first item. */
  readyNs: bigint;
  /** Closes its publishers and sources (stdin `stop`); SIGKILL and a rejection if it has not exited in 10 s. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

export async function startPublisherProcess(url: string, node: string, timeoutMs = 30_000): Promise<PublisherProcess> {
  const child = spawn(process.execPath, [new URL('./fixtures/publisher.mjs', import.meta.url).pathname, url, node], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const kill = async () => {
    if (running()) child.kill('SIGKILL');
    await within(exited, 5000, `exit of the publisher process (pid ${child.pid}) after SIGKILL`);
  };
  const ready = new Promise<string>((res) => child.stdout!.on('data', (d) => String(d).startsWith('ready') && res(String(d))));
  const died = exited.then(() => Promise.reject(new Error(`the publisher process exited (${child.exitCode ?? child.signalCode}) before it was ready`)));
  const line = await within(Promise.race([ready, died]), timeoutMs, "'ready' from the publisher process").catch(async (e) => {
    await kill();
    throw e;
  });
  return {
    subjects: line.trim().split(' ').slice(1),
    readyNs: monotonicNs(),
    kill,
    async stop() {
      if (running()) child.stdin!.write('stop\n'); // the fixture closes its publishers and exits on any stdin data
      await within(exited, 10_000, `exit of the publisher process (pid ${child.pid}) after stop`).catch(async (e) => {
        await kill();
        throw e;
      });
    },
  };
}
