/**
 * The limits of the video options, in one table that the sources validate against, the `senseflow` command
 * checks its flags against and docs/cli.md is generated from (`node scripts/limits-table.mjs`). Importable
 * alone as `@senseflow/source-video/limits` (no native code).
 */
export const VIDEO_LIMITS = {
  width: { min: 64, max: 16384, unit: 'px', what: 'frame width (the test pattern needs 64)' },
  height: { min: 16, max: 16384, unit: 'px', what: 'frame height' },
  fps: { min: 0.01, max: 1000, unit: 'frames/s', what: 'frame rate' },
} as const;
