/**
 * Exit codes of the `senseflow` command (documented in docs/cli.md). Scripts can rely on them.
 */
export const ExitCode = {
  /** Done (a recording stopped by --duration or Ctrl-C is a success). */
  ok: 0,
  /** Something unexpected failed (a bug, a crashed worker); the message says what. */
  failure: 1,
  /** Bad command line: unknown command or flag, bad value. */
  usage: 2,
  /** The device asked for does not exist. */
  notFound: 3,
  /** The device is in use by another program. */
  busy: 4,
  /** Files could not be written (unwritable directory, disk full) or read. */
  io: 5,
  /** The device cannot do what was asked (size, rate, format), or a needed tool is missing. */
  unsupported: 6,
  /** Interrupted twice (second Ctrl-C): stopped without finalizing. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A command-line mistake: printed as one line plus a hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly hint = "run 'senseflow help' for usage") {
    super(message);
    this.name = 'UsageError';
  }
}

/** Maps a thrown error to its exit code. */
export function exitCodeOf(e: unknown): ExitCodeValue {
  if (e instanceof UsageError) return ExitCode.usage;
  const code = (e as { code?: string })?.code;
  switch (code) {
    case 'EINVAL':
      return ExitCode.usage;
    case 'ENODEV':
      return ExitCode.notFound;
    case 'EBUSY':
      return ExitCode.busy;
    case 'EIO':
      return ExitCode.io;
    case 'EUNSUPPORTED':
      return ExitCode.unsupported;
    default:
      return ExitCode.failure;
  }
}
