import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.js';

export default defineConfig({
  ...base,
  entry: {
    'index': 'src/index.ts',
    // The limits table alone (no native code), for the CLI and the docs generator.
    'limits': 'src/limits.ts',
    // The camera plugin module the worker imports (openCamera points at dist/v4l2-source.js).
    'v4l2-source': 'src/v4l2-source.ts',
    'test-pattern/source': 'src/test-pattern/source.ts',
    // The ffmpeg plugin module (openFfmpeg points at dist/ffmpeg/source.js).
    'ffmpeg/source': 'src/ffmpeg/source.ts',
  },
});
