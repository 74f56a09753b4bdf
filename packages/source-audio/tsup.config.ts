import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.js';

export default defineConfig({
  ...base,
  // alsa-source is a worker-side module: openMicrophone() points a worker at dist/alsa-source.js.
  entry: { 'index': 'src/index.ts', limits: 'src/limits.ts', 'alsa-source': 'src/alsa-source.ts', 'tone/source': 'src/tone/source.ts' },
});
