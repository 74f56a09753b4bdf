/**
 * One error taxonomy for every senseflow package. Each class has a stable `code`; every instance is branded
 * with a `Symbol.for` key so `SenseflowError.isInstance(e)` works across duplicate installs and across
 * worker boundaries (errors are re-created from `{ name, code, message, details }` on the main thread).
 */

const BRAND = Symbol.for('senseflow.error');

export type ErrorCode =
  | 'EINVAL'
  | 'ENODEV'
  | 'EBUSY'
  | 'EUNSUPPORTED'
  | 'ESTATE'
  | 'EDISCONNECTED'
  | 'ECANCELED'
  | 'ETIMEDOUT'
  | 'EWORKER'
  | 'EPLUGIN'
  | 'EIO'
  | 'ENATIVE'
  | 'EOVERRUN';

export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  stack?: string;
}

export class SenseflowError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  /** True for any senseflow error, even one thrown by another copy of this package. */
  static isInstance(e: unknown): e is SenseflowError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
  }

  toJSON(): SerializedError {
    return { name: this.name, code: this.code, message: this.message, details: this.details, stack: this.stack };
  }
}

// On the prototype, so errors re-created with Object.create (deserializeError) carry it too.
Object.defineProperty(SenseflowError.prototype, BRAND, { value: true });

/** A parameter was out of range or not one of the valid choices. `details.parameter` names it. */
export class InvalidOptionError extends SenseflowError {
  constructor(readonly parameter: string, expected: string, received: unknown, details?: Record<string, unknown>) {
    super('EINVAL', `expected ${expected} for \`${parameter}\` but received ${describeValue(received)}`, {
      parameter,
      expected,
      received: safeValue(received),
      ...details,
    });
  }
}

/** The device does not exist (or vanished). */
export class DeviceNotFoundError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ENODEV', message, details);
  }
}

/** The device is in use by someone else. `details.holders` lists who, when knowable. */
export class DeviceBusyError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('EBUSY', message, details);
  }
}

/** The device cannot do what was asked. `details.choices` lists what it can do (closest first). */
export class UnsupportedFormatError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('EUNSUPPORTED', message, details);
  }
}

/** A method was called in a state that does not allow it (e.g. after close()). */
export class InvalidStateError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ESTATE', message, details);
  }
}

/** The device went away mid-stream. The source keeps its observers and reopens when it returns. */
export class DisconnectedError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('EDISCONNECTED', message, details);
  }
}

/** The operation was aborted (AbortSignal, close() while pending). */
export class CanceledError extends SenseflowError {
  constructor(message = 'operation canceled', details?: Record<string, unknown>) {
    super('ECANCELED', message, details);
  }
}

export class TimeoutError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ETIMEDOUT', message, details);
  }
}

/** A source's worker crashed or exited unexpectedly. */
export class WorkerCrashedError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('EWORKER', message, details, options);
  }
}

/** A plugin module could not be loaded or does not export a valid definition. */
export class PluginError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('EPLUGIN', message, details);
  }
}

/** Reading or writing a file or socket failed (disk full, unwritable path, …). */
export class IOError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('EIO', message, details, options);
  }
}

/** A native addon could not be loaded or reported an OS error. `details.errno` carries the errno name. */
export class NativeError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ENATIVE', message, details);
  }
}

/**
 * The ring's writer overwrote data while a reader copied it, on every retry: the reader is too slow for
 * this ring (a larger ring or a smaller read helps). Never returned as data: torn samples are not delivered.
 */
export class OverrunError extends SenseflowError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('EOVERRUN', message, details);
  }
}

const CLASSES: Record<string, new (...args: never[]) => SenseflowError> = {
  InvalidOptionError,
  DeviceNotFoundError,
  DeviceBusyError,
  UnsupportedFormatError,
  InvalidStateError,
  DisconnectedError,
  CanceledError,
  TimeoutError,
  WorkerCrashedError,
  PluginError,
  IOError,
  NativeError,
  OverrunError,
};

/** Turns anything thrown into something that survives postMessage. */
export function serializeError(e: unknown): SerializedError {
  if (SenseflowError.isInstance(e)) return { name: e.name, code: e.code, message: e.message, details: e.details, stack: e.stack };
  if (e instanceof Error) {
    const errno = (e as NodeJS.ErrnoException).code;
    const code: ErrorCode =
      errno === 'ENOENT' || errno === 'ENODEV' ? 'ENODEV' : errno === 'EBUSY' ? 'EBUSY' : errno === 'EACCES' || errno === 'ENOSPC' || errno === 'EIO' ? 'EIO' : 'EPLUGIN';
    return { name: e.name, code, message: e.message, details: errno ? { errno } : undefined, stack: e.stack };
  }
  return { name: 'Error', code: 'EPLUGIN', message: String(e) };
}

/** Re-creates a typed error from its serialized form (same class when known, same code always). */
export function deserializeError(s: SerializedError): SenseflowError {
  const Cls = CLASSES[s.name];
  const err: SenseflowError = Object.create((Cls ?? SenseflowError).prototype);
  Object.assign(err, { name: s.name, code: s.code, message: s.message, details: s.details });
  Object.defineProperty(err, 'stack', { value: s.stack ?? `${s.name}: ${s.message}`, writable: true, configurable: true });
  if (s.details && typeof s.details.parameter === 'string') (err as { parameter?: string }).parameter = s.details.parameter;
  return err;
}

function safeValue(v: unknown): unknown {
  if (v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)) return v;
  if (typeof v === 'bigint') return v.toString();
  try {
    return JSON.parse(JSON.stringify(v));
  } catch {
    return String(v);
  }
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
