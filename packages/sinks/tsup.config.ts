import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { 'index': 'src/index.ts', 'spectrum-worker': 'src/spectrum/worker.ts', 'file/worker': 'src/file/worker.ts', 'mcap/worker': 'src/mcap/worker.ts', 'mcap-source': 'src/mcap/replay-source.ts' },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
});
