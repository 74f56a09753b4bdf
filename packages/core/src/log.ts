import { pino, destination, type Logger, type Level } from 'pino';

export type { Logger };
export type LogLevel = Level | 'silent';

/**
 * The logger a component gets: a pino child named after it. Silent unless the user passes a logger or a
 * level — a library never prints on its own.
 */
export function resolveLogger(opts: { logger?: Logger; logLevel?: LogLevel } = {}, bindings: Record<string, unknown> = {}): Logger {
  if (opts.logger) return opts.logger.child(bindings);
  const level = opts.logLevel ?? 'silent';
  if (level === 'silent') return pino({ level: 'silent' }).child(bindings);
  // Synchronous stderr: worker threads' logs must not interleave or get lost at exit.
  return pino({ level, name: 'senseflow' }, destination({ fd: 2, sync: true })).child(bindings);
}

/** The level to hand a worker so its logger matches the user's. */
export function levelOf(opts: { logger?: Logger; logLevel?: LogLevel }): LogLevel {
  if (opts.logger) return (opts.logger.level as LogLevel) ?? 'info';
  return opts.logLevel ?? 'silent';
}
