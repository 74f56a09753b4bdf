import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { InvalidOptionError, PluginError } from '../errors.js';
import { levelOf, resolveLogger, type LogLevel } from '../log.js';
import type { SourceItem } from '../items.js';
import { Source } from '../source.js';
import { WorkerHost, type RestartPolicy } from './worker-host.js';

export interface HostOptions {
  /** A pino logger to log through (its level is handed to the worker). */
  logger?: Logger;
  /** Or just a level for senseflow's own stderr logger. Default: silent. */
  logLevel?: LogLevel;
  /** Start capture right after opening (default true). With false, call `start()` yourself. */
  autoStart?: boolean;
  /** What to do when the worker crashes: `off` (report only) or `on-crash` (default: restart with backoff). */
  restart?: RestartPolicy;
  maxRestarts?: number;
  restartDelayMs?: number;
  /** How long opening and each control request may take (default 30 s: slow devices, emulators). */
  requestTimeoutMs?: number;
  /** Interval of `stats$` (default 1000 ms). */
  statsIntervalMs?: number;
  /** Where a bare package specifier is resolved from (default: the current working directory). */
  resolveFrom?: string | URL;
}

/** Turns a package name, path or URL into the module URL the worker imports. */
export function resolveSpecifier(specifier: string | URL, resolveFrom?: string | URL): string {
  if (specifier instanceof URL) return specifier.href;
  if (typeof specifier !== 'string' || specifier.length === 0)
    throw new InvalidOptionError('specifier', 'a package name, a file path or a file: URL', specifier);
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) return specifier;
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  const base = resolveFrom ? String(resolveFrom instanceof URL ? resolveFrom.pathname : resolveFrom) : `${process.cwd()}/`;
  try {
    const req = createRequire(base.endsWith('/') ? `${base}noop.js` : base);
    return pathToFileURL(req.resolve(specifier)).href;
  } catch (e) {
    throw new PluginError(`cannot resolve source '${specifier}' from ${base}: ${(e as Error).message}`, { specifier });
  }
}

/**
 * Opens a source in its own worker thread and returns its main-thread {@link Source}.
 *
 * @param specifier a package name (`@acme/imu-source`), a file path, or a `file:` URL of a module that
 *   exports a `defineSource()` definition.
 * @param options the plugin's options (validated in the worker; a bad one rejects with a typed error
 *   naming the parameter).
 * @example
 * ```ts
 * const cam = await openSource('@senseflow/source-video/test-pattern', { width: 640, height: 480, fps: 30 });
 * cam.frames$.subscribe((f) => console.log(f.seq, f.captureNs));
 * await cam.close();
 * ```
 */
export async function openSource<I extends SourceItem = SourceItem>(specifier: string | URL, options?: unknown, host: HostOptions = {}): Promise<Source<I>> {
  const url = resolveSpecifier(specifier, host.resolveFrom);
  const log = resolveLogger(host, { component: 'source', specifier: url.split('/').slice(-2).join('/') });
  const wh = new WorkerHost(url, options, {
    restart: host.restart ?? 'on-crash',
    maxRestarts: host.maxRestarts ?? 5,
    restartDelayMs: host.restartDelayMs ?? 200,
    requestTimeoutMs: host.requestTimeoutMs ?? 30_000,
    logLevel: levelOf(host),
    log,
  });
  await wh.open();
  const source = new Source<I>({ host: wh, log, statsIntervalMs: host.statsIntervalMs ?? 1000 });
  registry.register(source, wh, source);
  if (host.autoStart ?? true) {
    try {
      await source.start();
    } catch (e) {
      await source.close({ force: true });
      throw e;
    }
  }
  return source;
}

// Safety net only: a Source dropped without close() still ends its worker (and so its device).
const registry = new FinalizationRegistry<WorkerHost>((wh) => void wh.close({ force: true }));
