import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  // The dashboard (web/) is bundled by vite into dist/web after the JS build (clean: true empties dist first).
  onSuccess: async () => {
    await (await import('vite')).build({ configFile: 'web/vite.config.ts' });
  },
});
