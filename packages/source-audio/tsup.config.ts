import { defineConfig } from 'tsup';

export default defineConfig({
  // alsa-source is a worker-side module: openMicrophone() points a worker at dist/alsa-source.js.
  entry: { 'index': 'src/index.ts', limits: 'src/limits.ts', 'alsa-source': 'src/alsa-source.ts', 'tone/source': 'src/tone/source.ts' },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
});
