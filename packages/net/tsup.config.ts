import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.js';

export default defineConfig({
  ...base,
  // The server, the Foxglove server and each connect() run their data path in workers: their entry files ship beside index.js.
  entry: {
    index: 'src/index.ts',
    'server-worker': 'src/server-worker.ts',
    'receive-worker': 'src/receive-worker.ts',
    'foxglove-worker': 'src/foxglove/worker.ts',
  },
  // The dashboard (web/) is bundled by vite into dist/web after the JS build (clean: true empties dist first).
  onSuccess: async () => {
    await (await import('vite')).build({ configFile: 'web/vite.config.ts' });
  },
});
