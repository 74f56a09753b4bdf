/**
 * The `senseflow` command: dispatches to a subcommand and turns every failure into one clear line and a
 * documented exit code (see exit-codes.ts and docs/cli.md).
 */
import { readFileSync } from 'node:fs';
import { SenseflowError } from '@senseflow/core';
import { demoCommand } from './commands/demo.js';
import { devicesCommand } from './commands/devices.js';
import { recordCommand } from './commands/record.js';
import { ExitCode, exitCodeOf, UsageError } from './exit-codes.js';
import { errorLine } from './format.js';
import type { Out } from './progress.js';

export const HELP = `senseflow — live sensor capture for Node.js

Usage: senseflow <command> [flags]

Commands:
  demo       record ~5 s from the camera, microphone and system stats (or test sources) and show the result
  record     record video, audio and/or system stats into a session directory
  devices    list cameras and audio inputs
  repair     fix a session directory left by a crash (kill -9, power loss): headers, MKV, session.json
  serve      serve live streams and a dashboard over the network (WebSocket/TCP)
  help       show this help (or 'senseflow <command> --help')

Exit codes: 0 ok, 1 failure, 2 bad command line, 3 device not found, 4 device busy,
            5 file I/O error, 6 unsupported format or missing tool, 130 aborted (second Ctrl-C)
`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * stdout/stderr; a reader that went away (`senseflow devices | head`) is not an error: what it does not
 * read is dropped, and a recording still finishes and finalizes its files.
 */
export const defaultOut = (): Out => {
  const gone = { out: false, err: false };
  const guard = (stream: NodeJS.WriteStream, k: 'out' | 'err') => {
    if (stream.listenerCount('error') === 0)
      stream.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') gone[k] = true;
        else throw e;
      });
  };
  guard(process.stdout, 'out');
  guard(process.stderr, 'err');
  return {
    tty: !!process.stderr.isTTY,
    out: (s) => void (gone.out || process.stdout.write(s)),
    err: (s) => void (gone.err || process.stderr.write(s)),
  };
};

/** Library option names → the flags that set them, so errors speak the command line's language. */
const FLAGS: Record<string, string> = {
  pixelFormat: '--pixel-format',
  width: '--size',
  height: '--size',
  fps: '--fps',
  rate: '--rate',
  channels: '--channels',
  hz: '--stats-hz',
  dir: '--out',
  codec: '--codec',
};

function cliMessage(e: SenseflowError): string {
  let msg = errorLine(e);
  const param = e.details?.parameter;
  if (e.code === 'EINVAL' && typeof param === 'string' && FLAGS[param]) msg = msg.replace(`\`${param}\``, FLAGS[param]);
  const hint = e.code === 'ENODEV' ? " (see 'senseflow devices')" : '';
  return `${msg} [${e.code}]${hint}`;
}

/** Runs the command line `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], o: Out = defaultOut()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'demo':
        return await demoCommand(o, rest);
      case 'record':
        return await recordCommand(o, rest);
      case 'devices':
        return await devicesCommand(o, rest);
      case 'repair':
        return await (await import('./commands/repair.js')).repairCommand(o, rest);
      case 'serve':
        // Loaded on demand: the network server is only needed by this command.
        return await (await import('./commands/serve.js')).serveCommand(o, rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        o.out(HELP);
        return cmd === undefined ? ExitCode.usage : ExitCode.ok;
      case '--version':
      case '-v':
        o.out(`senseflow ${version()}\n`);
        return ExitCode.ok;
      default:
        throw new UsageError(`unknown command '${cmd}'`, 'commands: demo, record, devices, serve, repair, help');
    }
  } catch (e) {
    const code = exitCodeOf(e);
    if (e instanceof UsageError) o.err(`senseflow: ${e.message}\n  (${e.hint})\n`);
    else if (SenseflowError.isInstance(e)) o.err(`senseflow: ${cliMessage(e)}\n`);
    else o.err(`senseflow: ${errorLine(e)}\n${process.env.SENSEFLOW_DEBUG ? `${(e as Error)?.stack}\n` : ''}`);
    return code;
  }
}
