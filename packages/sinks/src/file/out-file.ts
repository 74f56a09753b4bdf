/**
 * A file written with synchronous positional writes from the sink's own worker thread: payloads go from
 * the ring's SharedArrayBuffer to the kernel without a copy, and a failure (disk full, unwritable path)
 * surfaces right where it happens as an {@link IOError}.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
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

  /** Appends all of `data` (looping over short writes). On failure the file keeps its valid prefix. */
  append(data: Uint8Array): void {
    let done = 0;
    try {
      while (done < data.byteLength) done += writeSync(this.fd, data, done, data.byteLength - done, this.size + done);
    } catch (e) {
      throw ioError('cannot write', this.path, e);
    } finally {
      this.size += done;
    }
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
