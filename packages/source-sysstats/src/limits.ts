/**
 * The limits of the system-stats options, in one table that the source validates against, the `senseflow`
 * command checks its flags against and docs/cli.md is generated from (`node scripts/limits-table.mjs`).
 * Importable alone as `@senseflow/source-sysstats/limits`.
 */
export const SYSSTATS_LIMITS = {
  hz: { min: 0.1, max: 1000, unit: 'records/s', what: 'record rate' },
} as const;
