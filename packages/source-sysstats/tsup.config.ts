import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.js';

export default defineConfig({
  ...base,
  // sysstats-source is the worker-side module openSysStats() points at (dist/sysstats-source.js).
  entry: { index: 'src/index.ts', limits: 'src/limits.ts', 'sysstats-source': 'src/sysstats-source.ts' },
});
