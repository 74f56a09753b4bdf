/**
 * One ffmpeg child process: spawned with our pipe as its stdout, its stderr logged line by line (the last
 * lines kept for error messages), stopped with SIGTERM then SIGKILL. The process lives as long as the
 * source runs; nothing is spawned per frame.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@senseflow/core';
import type { FrameAssembler } from './assembler.js';
import { SocketReader, readCopying, socketPath } from './pipe.js';

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the binary could not be started. */
  spawnError?: NodeJS.ErrnoException;
  /** Whether we asked it to stop. */
  requested: boolean;
  /** `exit code 1`, `killed by SIGKILL`, … */
  text: string;
}

const TAIL_LINES = 30;
const KILL_AFTER_MS = 2000;

export class FfmpegProcess {
  readonly child: ChildProcess;
  /** Resolves when the process is gone and its pipe drained. */
  readonly exited: Promise<FfmpegExit>;
  /** How the frames are read: `direct` (into ring slots) or `copy` (the fallback). */
  readonly readMode: 'direct' | 'copy';
  private readonly tail: string[] = [];
  private partial = '';
  private requested = false;
  private reader: SocketReader | null = null;
  private disposeSocket: () => void = () => {};

  /**
   * @param onData runs after every read from the pipe (the first one tells the source ffmpeg is streaming)
   */
  constructor(bin: string, args: string[], transport: 'socket' | 'stdout', assembler: FrameAssembler, log: Logger, onData: () => void) {
    const sock = transport === 'socket' ? socketPath() : null;
    this.readMode = sock ? 'direct' : 'copy';
    // The plan's command line writes to stdout (pipe:1); the direct mode has ffmpeg listen on a socket instead.
    // `-timeout` bounds ffmpeg's wait for us to connect (ms), so it cannot hang if this thread died meanwhile.
    const argv = sock && args.at(-1) === 'pipe:1' ? [...args.slice(0, -1), '-listen', '1', '-timeout', '20000', `unix:${sock.path}`] : args;
    this.child = spawn(bin, argv, { stdio: ['ignore', sock ? 'ignore' : 'pipe', 'pipe'], windowsHide: true });
    log.debug({ pid: this.child.pid, args: argv, readMode: this.readMode }, 'ffmpeg started');

    let pipeDone: Promise<void>;
    if (sock) {
      // The directory goes as soon as we are connected: nothing is left behind even if this thread is terminated.
      const reader = new SocketReader(sock.path, assembler, onData, log, sock.dispose);
      this.reader = reader;
      pipeDone = reader.done.finally(() => sock.dispose());
      this.disposeSocket = sock.dispose;
    } else pipeDone = readCopying(this.child.stdout!, assembler, onData);

    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      const lines = (this.partial + s).split(/\r?\n|\r/);
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.line(line, log);
    });

    this.exited = new Promise<FfmpegExit>((resolve) => {
      this.child.once('error', (e: NodeJS.ErrnoException) => {
        // Spawn failed: no 'exit' will come.
        if (this.child.pid === undefined) {
          this.reader?.writerGone();
          resolve({ code: null, signal: null, spawnError: e, requested: this.requested, text: `cannot start: ${e.code}` });
        }
      });
      this.child.once('close', (code, signal) => {
        if (this.partial) this.line(this.partial, log);
        this.partial = '';
        const text = code !== null ? `exit code ${code}` : `killed by ${signal}`;
        this.reader?.writerGone();
        // Every byte ffmpeg wrote is read before we report the exit (the last frames of a file count).
        void pipeDone.then(() => {
          assembler.end(!this.requested); // a frame cut off by our own stop() is not a loss
          log.debug({ pid: this.child.pid, code, signal }, 'ffmpeg exited');
          resolve({ code, signal, requested: this.requested, text });
        });
      });
    });
    // Safety net: if this thread goes away without stop(), do not leave ffmpeg behind.
    process.once('exit', this.killNow);
    void this.exited.then(() => process.removeListener('exit', this.killNow));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** ffmpeg's last stderr lines (for error messages). */
  stderrTail(): string[] {
    return this.tail.slice();
  }

  /** Asks ffmpeg to quit (SIGTERM), kills it after 2 s if it has not, and waits until it is gone. */
  async stop(): Promise<FfmpegExit> {
    this.requested = true;
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), KILL_AFTER_MS);
      const r = await this.exited;
      clearTimeout(t);
      return r;
    }
    return this.exited;
  }

  private readonly killNow = (): void => {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.disposeSocket();
  };

  private line(line: string, log: Logger): void {
    if (!line.trim()) return;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    log.debug({ ffmpeg: line }, 'ffmpeg stderr');
  }
}

