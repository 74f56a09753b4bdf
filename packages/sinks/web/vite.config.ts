// Builds the dashboard into packages/sinks/dist/web (served by the network sink). Everything is bundled:
// no CDN, works offline. Run by tsup's onSuccess during `pnpm --filter @senseflow/sinks build`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
});
