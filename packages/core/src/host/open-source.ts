import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { InvalidOptionError, PluginError } from '../errors.js';
import { levelOf, resolveLogger, type LogLevel } from '../log.js';
import type { SourceItem } from '../items.js';
import { Source } from '../source.js';
import { bool, intIn, numberIn, oneOf, optionsObject } from '../validate.js';
import { RESTART_POLICIES, WorkerHost, type RestartPolicy } from './worker-host.js';

export interface HostOptions {
  /** A pino logger to log through (its level is handed to the worker). */
  logger?: Logger;
  /** Or just a level for senseflow's own stderr logger. Default: silent. */
  logLevel?: LogLevel;
  /** Start capture right after opening (default true). With false, call `start()` yourself. */
  autoStart?: boolean;
  /**
   * What to do when the worker crashes, hangs or reports a capture failure: `off` (report, then the error
   * state) or `on-crash` (default: restart with backoff, up to `maxRestarts`, then the error state).
   */
  restart?: RestartPolicy;
  /** Restarts allowed over the source's life before it enters the error state (default 5; 0–1000000). */
  maxRestarts?: number;
  /** First restart backoff in ms, doubling per restart up to 5 s (default 200; 0–600000). */
  restartDelayMs?: number;
  /** How long opening and each control request may take (default 30 s: slow devices, emulators; 1 ms–1 h). */
  requestTimeoutMs?: number;
  /** Interval of `stats$` (default 1000 ms; 10 ms–1 h). */
  statsIntervalMs?: number;
  /** How long the worker may go without a heartbeat before it counts as hung (default max(1 s, 5 item periods); 100 ms–1 h). */
  watchdogMs?: number;
  /** Where a bare package specifier is resolved from (default: the current working directory). */
  resolveFrom?: string | URL;
}

const HOST_OPTIONS = [
  'logger',
  'logLevel',
  'autoStart',
  'restart',
  'maxRestarts',
  'restartDelayMs',
  'requestTimeoutMs',
  'statsIntervalMs',
  'watchdogMs',
  'resolveFrom',
] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Checks host options and fills defaults; a bad one is an InvalidOptionError naming it and the valid choices. */
export function parseHostOptions(raw: unknown): Required<Omit<HostOptions, 'logger' | 'logLevel' | 'resolveFrom' | 'watchdogMs'>> &
  Pick<HostOptions, 'logger' | 'logLevel' | 'resolveFrom' | 'watchdogMs'> {
  const o = optionsObject(raw, HOST_OPTIONS, 'host options') as HostOptions;
  const opt = <T>(v: T | undefined, check: (v: unknown) => T): T | undefined => (v === undefined ? undefined : check(v));
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.child !== 'function'))
    throw new InvalidOptionError('logger', 'a pino logger (with a child() method)', o.logger);
  if (o.resolveFrom !== undefined && typeof o.resolveFrom !== 'string' && !(o.resolveFrom instanceof URL))
    throw new InvalidOptionError('resolveFrom', 'a directory path or a file: URL', o.resolveFrom);
  return {
    logger: o.logger,
    logLevel: opt(o.logLevel, (v) => oneOf('logLevel', v, LOG_LEVELS)),
    resolveFrom: o.resolveFrom,
    autoStart: o.autoStart === undefined ? true : bool('autoStart', o.autoStart),
    restart: o.restart === undefined ? 'on-crash' : oneOf('restart', o.restart, RESTART_POLICIES),
    maxRestarts: o.maxRestarts === undefined ? 5 : intIn('maxRestarts', o.maxRestarts, 0, 1_000_000),
    restartDelayMs: o.restartDelayMs === undefined ? 200 : numberIn('restartDelayMs', o.restartDelayMs, 0, 600_000),
    requestTimeoutMs: o.requestTimeoutMs === undefined ? 30_000 : numberIn('requestTimeoutMs', o.requestTimeoutMs, 1, 3_600_000),
    statsIntervalMs: o.statsIntervalMs === undefined ? 1000 : numberIn('statsIntervalMs', o.statsIntervalMs, 10, 3_600_000),
    watchdogMs: opt(o.watchdogMs, (v) => numberIn('watchdogMs', v, 100, 3_600_000)),
  };
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
export async function openSource<I extends SourceItem = SourceItem>(specifier: string | URL, options?: unknown, hostOptions: HostOptions = {}): Promise<Source<I>> {
  const host = parseHostOptions(hostOptions);
  const url = resolveSpecifier(specifier, host.resolveFrom);
  const log = resolveLogger(host, { component: 'source', specifier: url.split('/').slice(-2).join('/') });
  const wh = new WorkerHost(url, options, {
    restart: host.restart,
    maxRestarts: host.maxRestarts,
    restartDelayMs: host.restartDelayMs,
    requestTimeoutMs: host.requestTimeoutMs,
    watchdogMs: host.watchdogMs,
    logLevel: levelOf(host),
    log,
  });
  await wh.open();
  const source = new Source<I>({ host: wh, log, statsIntervalMs: host.statsIntervalMs });
  registry.register(source, wh, source);
  if (host.autoStart) {
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
