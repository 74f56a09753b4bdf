/**
 * Creates a directory and its missing parents, one level at a time. (Node's recursive mkdir can spin
 * forever on paths under /proc, where mkdir keeps answering ENOENT.)
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { IOError } from '@senseflow/core';

export function ensureDir(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    try {
      if (!statSync(p).isDirectory()) throw new IOError(`cannot create directory ${dir}: ${p} is not a directory`, { path: dir });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        if (e instanceof IOError) throw e;
        throw new IOError(`cannot create directory ${dir}: ${(e as Error).message}`, { path: dir, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
      }
      missing.unshift(p);
      const up = dirname(p);
      if (up === p) break;
      p = up;
    }
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code;
      if (errno === 'EEXIST') continue;
      const why = errno === 'EACCES' || errno === 'EPERM' ? 'permission denied' : errno === 'ENOSPC' ? 'disk full' : errno === 'EROFS' ? 'read-only file system' : (e as Error).message;
      throw new IOError(`cannot create directory ${dir}: ${why}`, { path: dir, errno }, { cause: e });
    }
  }
}
