import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.js';

export default defineConfig({
  ...base,
  entry: { 'index': 'src/index.ts', 'spectrum-worker': 'src/spectrum/worker.ts', 'file/worker': 'src/file/worker.ts', 'mcap/worker': 'src/mcap/worker.ts', 'mcap-source': 'src/mcap/replay-source.ts' },
});
