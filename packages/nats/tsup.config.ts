import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.js';

export default defineConfig({
  ...base,
  // `source` is the plugin module a remote stream's worker imports; `publisher-worker` reads a ring and publishes.
  entry: { index: 'src/index.ts', source: 'src/source.ts', 'publisher-worker': 'src/publisher-worker.ts' },
});
