import { defineConfig } from 'tsup';

export default defineConfig({
  // sysstats-source is the worker-side module openSysStats() points at (dist/sysstats-source.js).
  entry: { index: 'src/index.ts', limits: 'src/limits.ts', 'sysstats-source': 'src/sysstats-source.ts' },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
});
