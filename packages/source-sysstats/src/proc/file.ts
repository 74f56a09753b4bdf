import { closeSync, openSync, readSync } from 'node:fs';

/**
 * A procfs/sysfs file kept open and re-read from offset 0 (pread), which makes the kernel regenerate its
 * contents: no open/close per sample, no string, no allocation unless the file outgrows its buffer.
 */
export class ProcFile {
  private fd: number;
  /** Bytes of the last read are `buf[0, length)`. */
  buf: Buffer;
  length = 0;

  constructor(readonly path: string, initialBytes = 4096) {
    this.fd = openSync(path, 'r');
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** Re-reads the whole file; returns its length. Throws (ESRCH, ENODEV, …) when the kernel object is gone. */
  read(): number {
    if (this.fd < 0) throw new Error(`${this.path} is closed`);
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
      // A full buffer may mean a truncated file: grow (rare, and then never again) and read again.
      if (n < this.buf.length) return (this.length = n);
      this.buf = Buffer.allocUnsafe(this.buf.length * 2);
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
