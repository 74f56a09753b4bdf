/**
 * The limits of the audio options, in one table that the sources validate against, the `senseflow` command
 * checks its flags against and docs/cli.md is generated from (`node scripts/limits-table.mjs`). Importable
 * alone as `@senseflow/source-audio/limits` (no native code).
 */
export const AUDIO_LIMITS = {
  rate: { min: 8000, max: 384000, unit: 'Hz', what: 'sample rate' },
  channels: { min: 1, max: 32, unit: '', what: 'channels' },
} as const;
