/**
 * The session directory's guard: a recording never writes over existing data unless told to, holds an
 * exclusive lock on its directory for as long as it runs (a second recorder fails at start), and finds out
 * that the directory is unwritable before any capture starts.
 *
 * The lock is `DIR/session.lock`, created with O_EXCL and holding the owner's pid and process start time;
 * a lock whose owner is gone (a killed recorder) is stale and may be taken over.
 */
import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceBusyError, InvalidOptionError, IOError } from '@senseflow/core';
import { ensureDir } from './ensure-dir.js';

export const LOCK_FILE = 'session.lock';

/** The kernel's start time of a process (clock ticks since boot), so a reused pid is not mistaken for the owner. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

interface LockOwner {
  pid: number;
  start: string | null;
}

/** The live owner of the lock in `dir`, or null when there is no lock or its owner is gone. */
export function lockOwner(dir: string): LockOwner | null {
  let owner: LockOwner;
  try {
    owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner;
  } catch {
    return null; // none, or torn by a kill during its creation: nobody holds it
  }
  const start = processStart(owner.pid);
  return start !== null && (owner.start === null || owner.start === start) ? owner : null;
}

function why(e: unknown): string {
  const errno = (e as NodeJS.ErrnoException).code;
  return errno === 'EACCES' || errno === 'EPERM' ? 'permission denied' : errno === 'EROFS' ? 'read-only file system' : errno === 'ENOSPC' ? 'disk full' : (e as Error).message;
}

/** An exclusive lock on a session directory, released by {@link SessionLock.release}. */
export class SessionLock {
  private released = false;
  private constructor(readonly path: string) {}

  /**
   * Takes the lock on `dir` (creating the directory). Throws `DeviceBusyError` when another live process
   * (or this one) records there, `IOError` when the directory cannot be written.
   */
  static acquire(dir: string): SessionLock {
    try {
      ensureDir(dir);
    } catch (e) {
      throw new IOError(`cannot create output directory ${dir}: ${(e as Error).message.replace(/^cannot create directory [^:]*: /, '')}`, { path: dir }, { cause: e });
    }
    const path = join(dir, LOCK_FILE);
    const body = JSON.stringify({ pid: process.pid, start: processStart(process.pid) }) + '\n';
    for (let attempt = 0; ; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw busy(dir);
          throw new IOError(`cannot write to output directory ${dir}: ${why(e)}`, { path: dir, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
        }
        if (lockOwner(dir)) throw busy(dir);
        // A killed recorder's lock: take it over.
        try {
          unlinkSync(path);
        } catch {
          // someone else took it over first: the retry finds out
        }
        continue;
      }
      try {
        writeSync(fd, body);
      } catch (e) {
        closeSync(fd);
        unlinkSync(path);
        throw new IOError(`cannot write to output directory ${dir}: ${why(e)}`, { path: dir, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
      }
      closeSync(fd);
      return new SessionLock(path);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function busy(dir: string): DeviceBusyError {
  const owner = lockOwner(dir);
  return new DeviceBusyError(
    `${dir} is being recorded into by ${owner ? (owner.pid === process.pid ? 'this process' : `process ${owner.pid}`) : 'another recorder'}; choose another directory`,
    { path: dir, pid: owner?.pid ?? null },
  );
}

/** Files in `dir` other than the lock (empty when the directory does not exist). */
export function existingFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f !== LOCK_FILE);
  } catch {
    return [];
  }
}

/**
 * Locks `dir` for a new recording: refuses a directory that already holds files unless `overwrite`, and a
 * directory another recorder holds. Returns the lock (release it when the recording ends).
 */
export function openSessionDir(dir: string, overwrite = false): SessionLock {
  const lock = SessionLock.acquire(dir);
  const files = existingFiles(dir);
  if (files.length > 0 && !overwrite) {
    lock.release();
    const shown = files.slice(0, 4).join(', ') + (files.length > 4 ? `, … (${files.length} files)` : '');
    throw new InvalidOptionError('dir', `an empty or new directory (this one holds ${shown}; pass overwrite: true to write over it)`, dir, { holds: files });
  }
  return lock;
}
