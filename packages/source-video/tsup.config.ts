import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { 'index': 'src/index.ts', 'test-pattern/source': 'src/test-pattern/source.ts' },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
});
