// The one loader per addon (node-gyp-build): a copy of each package with no addon at all fails with a
// NativeError saying what to do; the same copy with only a prebuild in native/prebuilds/<platform>-<arch>/
// (as in a packed install) loads it. The copies live in a temp dir and share the package's node_modules.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sf-loaders-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of packages/<name> (dist, package.json, node_modules link) with native/ holding only `prebuild` if given. */
function copyPackage(name: string, variant: string, withPrebuild: boolean): string {
  const src = join(root, 'packages', name);
  const dir = join(work, `${name}-${variant}`);
  mkdirSync(join(dir, 'native'), { recursive: true });
  cpSync(join(src, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(src, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(src, 'node_modules'), join(dir, 'node_modules'));
  if (withPrebuild) {
    const built = join(src, 'native/build/Release');
    const node = readdirSync(built).find((f) => f.endsWith('.node'));
    if (!node) throw new Error(`${built} has no .node: build the package first`);
    const pre = join(dir, 'native/prebuilds', `${platform()}-${arch()}`);
    mkdirSync(pre, { recursive: true });
    cpSync(join(built, node), join(pre, 'node.napi.node'));
  }
  return dir;
}

const cases: Array<[string, (m: Record<string, any>) => unknown, RegExp]> = [
  ['source-video', (m) => m.convertFrame({ data: new Uint8Array(16), pixelFormat: 'yuyv', width: 4, height: 2 }, 'gray8'), /V4L2 addon[\s\S]*Possible solutions[\s\S]*libturbojpeg0/],
  ['source-audio', (m) => m.listAudioDevices({ probe: false, soundServer: false }), /ALSA capture addon[\s\S]*Possible solutions[\s\S]*libasound2/],
  ['sinks', (m) => m.fftEngine({ engine: 'fftw' }), /FFTW addon[\s\S]*Possible solutions[\s\S]*libfftw3-single3/],
];

describe('addon loaders (node-gyp-build)', () => {
  for (const [name, use, message] of cases) {
    it(`${name}: no build and no prebuild → NativeError with possible solutions`, async () => {
      const m = await import(pathToFileURL(join(copyPackage(name, 'none', false), 'dist/index.js')).href);
      const err = await Promise.resolve()
        .then(() => use(m))
        .then(
          () => null,
          (e: unknown) => e,
        );
      // The copy has its own @senseflow/core instance: check the typed error by name and code.
      expect((err as Error).name).toBe('NativeError');
      expect((err as { code?: string }).code).toBe('ENATIVE');
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/No native build was found/);
    });

    it(`${name}: loads the prebuild for this platform when there is no local build`, async () => {
      const m = await import(pathToFileURL(join(copyPackage(name, 'prebuilt', true), 'dist/index.js')).href);
      expect(await use(m)).toBeTruthy();
    });
  }
});
