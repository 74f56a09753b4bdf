/**
 * The byte stream from ffmpeg to the source, read without an intermediate buffer.
 *
 * Node reads a child's stdout into buffers of its own, so every byte would be copied once more into the
 * ring. Instead ffmpeg writes to a Unix socket it listens on (`-listen 1 unix:PATH`, in a private temp
 * directory) and we connect with `net.connect({ path, onread })`: libuv then reads straight into the
 * memory `target()` returns — the ring slot. (A FIFO opened with `fs.open` would do the same, but in a
 * worker thread Node tracks fs-opened fds and closes them again at worker exit, after libuv has closed it
 * and the number may belong to someone else.) Where Unix sockets are not available (Windows) the child's
 * stdout is read instead, copying each chunk into the slot once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '@senseflow/core';
import type { FrameAssembler } from './assembler.js';

/** A fresh socket path in a private directory (mode 0700), or null where ffmpeg cannot listen on one. */
export function socketPath(): { path: string; dispose(): void } | null {
  if (process.platform === 'win32') return null;
  const dir = mkdtempSync(join(tmpdir(), 'sf-ffmpeg-'));
  return { path: join(dir, 'frames.sock'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Connects to ffmpeg's socket (retrying until ffmpeg listens — it does once its input is open) and reads
 * into `assembler.target()`. `done` resolves once the connection is over, or once `writerGone()` was
 * called without one.
 */
export class SocketReader {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private socket: Socket | null = null;
  private connected = false;
  private gone = false;
  private delay = 5;
  private timer: NodeJS.Timeout | null = null;

  /** @param onConnect runs once connected (the socket's name is not needed any more then) */
  constructor(
    private readonly path: string,
    private readonly assembler: FrameAssembler,
    private readonly onData: () => void,
    private readonly log: Logger,
    private readonly onConnect: () => void = () => {},
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.attempt();
  }

  /** ffmpeg exited: stop trying to connect (an open connection is still read to its end). */
  writerGone(): void {
    this.gone = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.connected) {
      this.socket?.destroy();
      this.resolveDone();
    }
  }

  private attempt(): void {
    this.timer = null;
    if (this.gone) return;
    const a = this.assembler;
    const s = connect({
      path: this.path,
      onread: {
        // Called before every read: where the kernel should put the next bytes (the ring slot).
        buffer: () => a.target(),
        callback: (n: number) => {
          a.wrote(n);
          this.onData();
          return true;
        },
      },
    });
    this.socket = s;
    s.once('connect', () => {
      this.connected = true;
      this.onConnect();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (this.connected) this.log.debug({ err: e }, 'ffmpeg socket error');
    });
    s.once('close', () => {
      if (this.connected || this.gone) return this.resolveDone();
      // Not listening yet: try again soon (ffmpeg opens its output after its input).
      this.timer = setTimeout(() => this.attempt(), this.delay);
      this.delay = Math.min(50, this.delay * 2);
    });
  }
}

/** Fallback: copies each chunk of the child's stdout into `assembler.target()` (one copy per byte). */
export function readCopying(stdout: Readable, assembler: FrameAssembler, onData: () => void): Promise<void> {
  stdout.on('data', (chunk: Buffer) => {
    let off = 0;
    while (off < chunk.length) {
      const t = assembler.target();
      const n = Math.min(t.length, chunk.length - off);
      t.set(chunk.subarray(off, off + n));
      off += n;
      assembler.wrote(n);
    }
    onData();
  });
  return new Promise((resolve) => stdout.once('close', () => resolve()));
}
