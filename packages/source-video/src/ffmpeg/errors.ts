/**
 * Turns ffmpeg's and ffprobe's failures into senseflow's typed errors, with ffmpeg's own last lines in the
 * message (they are what a user needs to see: "Connection refused", "No such file or directory", …).
 */
import { DeviceBusyError, DeviceNotFoundError, IOError, NativeError, UnsupportedFormatError, type SenseflowError } from '@senseflow/core';

const NOT_FOUND = [
  /No such file or directory/i,
  /Connection refused/i,
  /Connection timed out/i,
  /No route to host/i,
  /Host is unreachable/i,
  /Name or service not known/i,
  /Failed to resolve hostname/i,
  /Temporary failure in name resolution/i,
  /Server returned 404/i,
  /Server returned 4\d\d/i,
  /Cannot open display/i,
  /Can't open display/i,
  /No such device/i,
  /Input\/output error/i,
];
const UNSUPPORTED = [/Invalid data found when processing input/i, /Unknown input format/i, /does not contain any stream/i, /Output file #0 does not contain any stream/i, /Stream map .* matches no streams/i, /Unsupported codec/i, /Decoder .* not found/i, /Unknown encoder/i];
const BUSY = [/Device or resource busy/i];

/** Classifies a failure of ffmpeg/ffprobe on `input` from its stderr lines. */
export function ffmpegFailure(tool: string, input: string, stderrLines: readonly string[], exit: string): SenseflowError {
  const text = stderrLines.join('\n');
  const tail = stderrLines.slice(-8).join('\n') || '(no output)';
  const details = { input, exit, stderr: stderrLines.slice(-20) };
  const msg = (what: string) => `${tool} ${what} '${input}' (${exit}):\n${tail}`;
  if (NOT_FOUND.some((r) => r.test(text))) return new DeviceNotFoundError(msg('could not open'), details);
  if (BUSY.some((r) => r.test(text))) return new DeviceBusyError(msg('could not open (busy)'), details);
  if (UNSUPPORTED.some((r) => r.test(text))) return new UnsupportedFormatError(msg('cannot read video from'), details);
  return new IOError(msg('failed on'), details);
}

/** The binary could not be started at all (not installed, not executable). */
export function ffmpegMissing(binary: string, cause: NodeJS.ErrnoException): NativeError {
  return new NativeError(
    `cannot run '${binary}' (${cause.code ?? cause.message}). The ffmpeg video source runs ffmpeg and ffprobe as child processes.\n` +
      'Possible solutions:\n' +
      '- apt-get install ffmpeg   (Debian/Ubuntu; brew install ffmpeg on macOS, winget install ffmpeg on Windows)\n' +
      '- pass `ffmpegPath` / `ffprobePath` (or set SENSEFLOW_FFMPEG / SENSEFLOW_FFPROBE) to the binaries',
    { errno: cause.code, binary },
  );
}
