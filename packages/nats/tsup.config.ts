import { defineConfig } from 'tsup';

export default defineConfig({
  // `source` is the plugin module a remote stream's worker imports; `publisher-worker` reads a ring and publishes.
  entry: { index: 'src/index.ts', source: 'src/source.ts', 'publisher-worker': 'src/publisher-worker.ts' },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
});
