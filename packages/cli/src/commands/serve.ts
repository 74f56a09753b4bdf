/**
 * `senseflow serve`: serves any mix of a camera (or test pattern, or URL), a microphone (or tone) and
 * system stats over the network, with the live dashboard at http://HOST:PORT/. One port carries the
 * dashboard, WebSocket (/ws) and raw TCP clients (docs/network.md, docs/protocol.md).
 */
import type { Source } from '@senseflow/core';
import { serve } from '@senseflow/net';
import { parseFlags, positiveInt, positiveNumber } from '../args.js';
import { UsageError } from '../exit-codes.js';
import { INPUT_FLAGS, openInputs, planInputs, type InputFlags } from '../inputs.js';
import type { Out } from '../progress.js';
import { startFoxglove } from '../foxglove.js';

export const SERVE_HELP = `senseflow serve [flags]

Serves live streams and a dashboard (video, audio waveform/level/spectrogram, CPU/memory plots, per-stream
rate, latency and drops) at http://HOST:PORT/. Clients: ws://HOST:PORT/ws or tcp://HOST:PORT
(see docs/protocol.md); in Node, connect(url) from @senseflow/net. Ctrl-C stops.

Video:
  --video DEV|test|URL   a camera (/dev/video0 or an id from 'senseflow devices'), the test pattern,
                         or anything ffmpeg reads
  --size WxH             frame size, e.g. 1280x720
  --fps N                frames per second
  --pixel-format F       e.g. mjpeg (sent as is), yuyv, rgb24 (JPEG-encoded for viewers that ask)
Audio:
  --audio PCM|default|test   an ALSA capture device or the test tone
  --loopback             what the computer plays (sound server monitor)
  --rate N               sample rate in Hz (default 48000)
  --channels N           channels (default 2)
Stats:
  --stats                CPU, memory, load, network, disk, temperatures
  --stats-hz N           records per second (default 4)
Server:
  --port N               TCP port (default 8080)
  --host ADDR            address to bind (default 127.0.0.1; any other needs --token)
  --token T              secret every client must present (or env SENSEFLOW_TOKEN);
                         open the dashboard as http://HOST:PORT/?token=T
  --max-clients N        most clients at once (default 16)
  --jpeg-quality N       1-100 (default 80)
  --max-age-ms N         oldest video/audio (by capture time) a client is sent (default 1000);
                         a client that acknowledges (connect(), the dashboard) receives nothing older
  --no-flow-control      do not offer flow control (ACKs): every client is fed as a non-acking one
  --log-level L          silent, error, warn, info, debug or trace (default warn): why a connection
                         was refused or closed is logged at warn, each client at info
  --duration S           stop after S seconds (default: until Ctrl-C)
Foxglove / Lichtblick:
  --foxglove             also serve the Foxglove WebSocket protocol (same host and token rules);
                         in Foxglove: Open connection → Foxglove WebSocket → ws://HOST:8765
  --foxglove-port N      its port (default 8765; 0 picks a free one)
`;

interface ServeFlags extends InputFlags {
  port?: string;
  host?: string;
  token?: string;
  'max-clients'?: string;
  'jpeg-quality'?: string;
  'max-age-ms'?: string;
  'no-flow-control'?: boolean;
  'log-level'?: string;
  duration?: string;
  foxglove?: boolean;
  'foxglove-port'?: string;
  help?: boolean;
}

export async function serveCommand(o: Out, argv: string[]): Promise<number> {
  const v = parseFlags('serve', argv, {
    ...INPUT_FLAGS,
    port: { type: 'string' },
    host: { type: 'string' },
    token: { type: 'string' },
    'max-clients': { type: 'string' },
    'jpeg-quality': { type: 'string' },
    'max-age-ms': { type: 'string' },
    'no-flow-control': { type: 'boolean' },
    'log-level': { type: 'string' },
    duration: { type: 'string' },
    foxglove: { type: 'boolean' },
    'foxglove-port': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }).values as ServeFlags;
  if (v.help) {
    o.out(SERVE_HELP);
    return 0;
  }
  const port = v.port === '0' ? 0 : positiveInt('--port', v.port, 65535);
  const maxClients = positiveInt('--max-clients', v['max-clients'], 1024);
  const quality = positiveInt('--jpeg-quality', v['jpeg-quality'], 100);
  const duration = positiveNumber('--duration', v.duration);
  const foxglovePort = v['foxglove-port'] === '0' ? 0 : positiveInt('--foxglove-port', v['foxglove-port'], 65535);
  if (foxglovePort !== undefined && !v.foxglove) throw new UsageError('--foxglove-port applies to --foxglove: add --foxglove');
  const maxAgeMs = positiveInt('--max-age-ms', v['max-age-ms'], 600_000);
  const LEVELS = ['silent', 'error', 'warn', 'info', 'debug', 'trace'] as const;
  const logLevel = (v['log-level'] ?? 'warn') as (typeof LEVELS)[number];
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')} (got '${v['log-level']}')`, 'e.g. --log-level info');
  const token = v.token ?? process.env.SENSEFLOW_TOKEN;
  const plan = planInputs(v, 'serve', "e.g. 'senseflow serve --video test --audio test --stats'");
  const host = v.host ?? '127.0.0.1';
  if (!/^(127\.|::1$|localhost$)/.test(host) && !token) throw new UsageError(`serving on ${host} (not loopback) needs a token`, 'add --token SECRET or set SENSEFLOW_TOKEN');

  const sources: Record<string, Source> = {};
  for (const x of await openInputs(plan, 4)) sources[x.name] = x.source;
  try {
    await Promise.all(Object.values(sources).map((s) => s.start()));
  } catch (e) {
    await Promise.allSettled(Object.values(sources).map((s) => s.close()));
    throw e;
  }
  const server = await serve({ sources, port: port ?? 8080, host, token, maxClients, jpegQuality: quality, maxAgeMs, flowControl: !v['no-flow-control'], logLevel }).catch(async (e: unknown) => {
    await Promise.allSettled(Object.values(sources).map((s) => s.close()));
    throw e;
  });
  const foxglove = v.foxglove
    ? await startFoxglove({ sources, port: foxglovePort ?? 8765, host, token, maxClients }).catch(async (e: unknown) => {
        await server.close();
        await Promise.allSettled(Object.values(sources).map((s) => s.close()));
        throw e;
      })
    : null;
  for (const [name, s] of Object.entries(sources)) o.err(`${name}: ${s.spec.description ?? s.name}\n`);
  const { port: p } = server.address;
  o.out(`dashboard: ${server.url}${token ? '?token=…' : ''}\nwebsocket: ws://${host}:${p}/ws\ntcp:       tcp://${host}:${p}\n`);
  if (foxglove) o.out(`foxglove:  ${foxglove.url}${token ? '/?token=…' : ''}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (duration) setTimeout(stop, duration * 1000).unref();
  });
  o.err('stopping…\n');
  await foxglove?.close();
  await server.close();
  await Promise.allSettled(Object.values(sources).map((s) => s.close()));
  return 0;
}
