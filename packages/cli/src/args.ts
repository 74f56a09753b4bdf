/**
 * Flag parsing on node:util parseArgs, with one-line errors that name the flag and what it accepts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values: strings for value flags, booleans for switches (cast to the command's own shape). */
export type FlagValues = Record<string, string | boolean | undefined>;

export function parseFlags(command: string, argv: string[], options: Options): { values: FlagValues } {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as { values: FlagValues };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown flag ${flag ?? ''} for 'senseflow ${command}'`, `run 'senseflow ${command} --help' for its flags`);
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument for 'senseflow ${command}': ${err.message.match(/'([^']+)'/)?.[1] ?? ''}`, `run 'senseflow ${command} --help' for its flags`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/ambiguous/.test(err.message)) throw new UsageError(`flag ${flag} got a value that looks like a flag; write it as ${flag}=VALUE`, `run 'senseflow ${command} --help' for its flags`);
      const needsValue = /argument missing/.test(err.message);
      throw new UsageError(needsValue ? `flag ${flag} needs a value` : `bad value for ${flag}: ${err.message.split('.')[0]}`, `run 'senseflow ${command} --help' for its flags`);
    }
    throw new UsageError(err.message.split('\n')[0]);
  }
}

/** A limit from a source package's table (`VIDEO_LIMITS.fps`, …): the same range the library enforces. */
export interface Limit {
  min: number;
  max: number;
}

/** A number within a limit table's range: "--fps expects a number from 0.01 to 1000, got 'x'". */
export function numberInLimit(flag: string, v: string | undefined, l: Limit, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < l.min || n > l.max || (integer && !Number.isInteger(n)))
    throw new UsageError(`${flag} expects ${integer ? 'a whole number' : 'a number'} from ${l.min} to ${l.max}, got '${v}'`);
  return n;
}

export function positiveNumber(flag: string, v: string | undefined, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`${flag} expects a number > 0${max < Infinity ? ` and ≤ ${max}` : ''}, got '${v}'`);
  return n;
}

export function positiveInt(flag: string, v: string | undefined, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new UsageError(`${flag} expects a whole number from 1${max < Infinity ? ` to ${max}` : ''}, got '${v}'`);
  return n;
}

export function size(v: string | undefined, w: Limit, h: Limit): { width: number; height: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)[xX](\d+)$/.exec(v);
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width < w.min || width > w.max || height < h.min || height > h.max)
    throw new UsageError(`--size expects WIDTHxHEIGHT like 640x480 (width ${w.min} to ${w.max}, height ${h.min} to ${h.max}), got '${v}'`);
  return { width, height };
}
