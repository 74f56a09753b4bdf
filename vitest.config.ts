import { defineConfig } from 'vitest/config';

// Three tiers, chosen by file name (see docs/testing.md):
//   *.test.ts            unit: no devices, fast
//   *.userspace.test.ts  userspace: ALSA file plugin, private PulseAudio, ffmpeg servers, Xvfb
//   *.kernel.test.ts     kernel: run inside the qemu VM against vivid, v4l2loopback, snd-aloop
//   *.packaging.test.ts  packaging: packed tarballs installed with npm, arm64 addons under qemu-user
const roots = ['packages/*/test/**', 'examples/test/**', 'tools/**/test/**', 'bench/test/**'];
const glob = (suffix: string) => roots.map((r) => `${r}/*${suffix}`);

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: glob('.test.ts'),
          exclude: [...glob('.userspace.test.ts'), ...glob('.kernel.test.ts'), ...glob('.packaging.test.ts'), '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: { name: 'userspace', include: glob('.userspace.test.ts'), testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
      },
      {
        test: { name: 'packaging', include: glob('.packaging.test.ts'), testTimeout: 660_000, fileParallelism: false },
      },
      {
        test: { name: 'kernel', include: glob('.kernel.test.ts'), testTimeout: 180_000, hookTimeout: 180_000, fileParallelism: false },
      },
    ],
  },
});
