/**
 * Option validation helpers: every check names the parameter and the valid choices
 * ("expected one of yuyv, mjpeg for `pixelFormat` but received 'h264'"). Plugins use these in `options.parse`.
 */
import { InvalidOptionError } from './errors.js';

/** Rejects non-objects and unknown keys (with the valid keys listed), returns the object typed loosely. */
export function optionsObject(raw: unknown, allowed: readonly string[], param = 'options'): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidOptionError(param, 'an options object', raw);
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw new InvalidOptionError(key, `a known option (one of ${allowed.join(', ')})`, 'an unknown option', { unknown: key });
  }
  return raw as Record<string, unknown>;
}

export function oneOf<T extends string>(param: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) throw new InvalidOptionError(param, `one of ${choices.join(', ')}`, value, { choices });
  return value as T;
}

export function intIn(param: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new InvalidOptionError(param, `an integer from ${min} to ${max}`, value, { min, max });
  return value;
}

export function numberIn(param: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw new InvalidOptionError(param, `a number from ${min} to ${max}`, value, { min, max });
  return value;
}

export function bool(param: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(param, 'true or false', value);
  return value;
}

export function nonEmptyString(param: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(param, 'a non-empty string', value);
  return value;
}

/** `value ?? fallback`, then `check` — the common "optional with default" pattern. */
export function withDefault<T>(value: unknown, fallback: T, check: (v: unknown) => T): T {
  return check(value === undefined ? fallback : value);
}
