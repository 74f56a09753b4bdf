/**
 * A file written with synchronous positional writes from the sink's own worker thread: payloads go from
 * the ring's SharedArrayBuffer to the kernel without a copy, and a failure (disk full, unwritable path)
 * surfaces right where it happens as an {@link IOError}.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { IOError } from '@senseflow/core';

export function ioError(what: string, path: string, e: unknown): IOError {
  const errno = (e as NodeJS.ErrnoException)?.code;
  const why = errno === 'ENOSPC' ? 'disk full' : errno === 'EACCES' || errno === 'EPERM' ? 'permission denied' : (e as Error)?.message ?? String(e);
  return new IOError(`${what} ${path}: ${why}`, { path, errno }, { cause: e });
}

export class OutFile {
  private fd: number;
  /** Bytes of the file that are fully written (the append position). */
  size = 0;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw ioError('cannot create', path, e);
    }
  }

  /**
   * Appends all of `data` (looping over short writes), or nothing: on failure (disk full) the part that
   * did get written is cut off again, so a file never ends in half a line, half a frame or half a sample.
   */
  append(data: Uint8Array): void {
    let done = 0;
    try {
      while (done < data.byteLength) done += writeSync(this.fd, data, done, data.byteLength - done, this.size + done);
    } catch (e) {
      if (done > 0) {
        try {
          ftruncateSync(this.fd, this.size);
        } catch {
          // the file keeps a partial tail; repair() cuts it
        }
      }
      throw ioError('cannot write', this.path, e);
    }
    this.size += done;
  }

  /** Overwrites bytes at `offset` (header fields; never grows the file past what exists). */
  writeAt(offset: number, data: Uint8Array): void {
    try {
      let done = 0;
      while (done < data.byteLength) done += writeSync(this.fd, data, done, data.byteLength - done, offset + done);
    } catch (e) {
      throw ioError('cannot update', this.path, e);
    }
  }

  sync(): void {
    try {
      fsyncSync(this.fd);
    } catch {
      // fsync on pipes and /dev/full is meaningless; the data is in the kernel either way.
    }
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } finally {
      this.fd = -1;
    }
  }
}

/** A text file filled line by line; lines are buffered and written on `flush()` (once per wake-up). */
export class TextOut {
  private readonly file: OutFile;
  private pending: string[] = [];

  constructor(path: string, header?: string) {
    this.file = new OutFile(path);
    if (header) this.pending.push(header);
  }
  get path(): string {
    return this.file.path;
  }
  private pendingBytes = 0;
  /** Bytes written plus bytes waiting for the next flush. */
  get bytes(): number {
    return this.file.size + this.pendingBytes;
  }
  line(s: string): void {
    this.pending.push(s);
    this.pendingBytes += s.length + 1;
  }
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    this.pendingBytes = 0;
    this.file.append(Buffer.from(text, 'utf8'));
  }
  close(): void {
    try {
      this.flush();
    } finally {
      this.file.close();
    }
  }
}

/**
 * Cuts a line-oriented file after its first `keep` lines (or after its last complete line when `keep` is
 * undefined). Returns the number of lines removed (a torn last line counts as one).
 */
export function truncateLines(path: string, keep?: number): number {
  const text = readFileSync(path);
  let end = 0;
  let lines = 0;
  let total = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== 10) continue;
    total++;
    if (keep === undefined || lines < keep) {
      lines++;
      end = i + 1;
    }
  }
  const torn = text.length > 0 && text[text.length - 1] !== 10 ? 1 : 0;
  if (end === text.length) return 0;
  truncateSync(path, end);
  return total - lines + torn;
}
