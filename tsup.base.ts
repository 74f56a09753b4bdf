// The build settings every package shares: ESM for Node 20 with types and source maps. Each package's
// tsup.config.ts adds its entries (the index plus the worker-side modules it ships).
import type { Options } from 'tsup';

export const base = {
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
} satisfies Options;
