// Builds the dashboard into packages/net/dist/web (served by the network server). Everything is bundled:
// no CDN, works offline. Run by tsup's onSuccess during `pnpm --filter @senseflow/net build`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  resolve: {
    // The page shares the Node codec (src/codec.ts), which needs only core's error classes; errors.ts has no
    // Node imports, so the browser bundle takes it alone instead of all of core.
    alias: { '@senseflow/core': fileURLToPath(new URL('../../core/src/errors.ts', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
});
