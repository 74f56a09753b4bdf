/**
 * Where video frames go: MJPEG frames are stored as they are in our own Matroska writer (microsecond
 * timestamps, no re-encoding); raw frames are framed the same way (V_UNCOMPRESSED, same timestamps) and
 * piped into one long-lived ffmpeg that encodes them (H.264 by default) into a Matroska file with a
 * cluster at least every 0.5 s, flushed as it goes — so a kill loses well under a second.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { UnsupportedFormatError, type VideoSpec } from '@senseflow/core';
import { ioError, OutFile } from './out-file.js';
import { MkvWriter, RAW_FOURCC } from './mkv-writer.js';
import type { VideoEncodeOptions } from './protocol.js';

export interface VideoOut {
  /** How frames are stored, for the manifest (`mjpeg-passthrough`, `ffmpeg:libx264`). */
  readonly storage: string;
  /** Bytes of the stored file so far. */
  readonly bytes: number;
  /** Stores one frame. The payload view must stay untouched until the returned promise settles. */
  writeFrame(data: Uint8Array, ptsUs: number, key: boolean): void | Promise<void>;
  close(lastPtsUs: number): Promise<void>;
  /**
   * After close: frames the finished file holds, when that can differ from the frames written (an
   * encoder confirms its own output); null when every written frame is stored.
   */
  readonly storedFrames: number | null;
}

const PACKED_BPP: Record<string, number> = { yuyv: 2, uyvy: 2, rgb24: 3, bgr24: 3, rgba: 4, gray8: 1 };

/** MJPEG (or JPEG) frames straight into Matroska. */
export class MjpegMkvOut implements VideoOut {
  readonly storage = 'mjpeg-passthrough';
  readonly storedFrames = null;
  private readonly out: OutFile;
  private readonly mkv: MkvWriter;

  constructor(path: string, spec: VideoSpec, origin: Date, title: string) {
    this.mkv = new MkvWriter({ codecId: 'V_MJPEG', width: spec.width, height: spec.height, origin, title });
    this.out = new OutFile(path);
    this.out.append(this.mkv.header());
  }
  get bytes(): number {
    return this.out.size;
  }
  writeFrame(data: Uint8Array, ptsUs: number): void {
    this.out.append(this.mkv.frameHead(ptsUs, data.byteLength, true));
    this.out.append(data);
  }
  async close(lastPtsUs: number): Promise<void> {
    try {
      this.out.writeAt(this.mkv.durationOffset, this.mkv.durationBytes(lastPtsUs));
      this.out.sync();
    } finally {
      this.out.close();
    }
  }
}

/** Throws a clear error when ffmpeg is missing (raw video needs it; MJPEG does not). */
export function checkFfmpeg(path = 'ffmpeg'): void {
  const r = spawnSync(path, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  if (r.error || r.status !== 0)
    throw new UnsupportedFormatError(
      `recording raw video needs ffmpeg, and '${path}' could not be run (${r.error?.message ?? `exit ${r.status}`}). Possible solutions: apt-get install ffmpeg; or pass video.ffmpegPath`,
      { ffmpegPath: path },
    );
}

/**
 * Video packets in a finished file, counted by ffprobe (installed with ffmpeg), or null when it cannot be
 * counted. What an encoder reports as written is not enough: frames it had buffered when it died are not in the file.
 */
export function countPackets(file: string, ffmpegPath = 'ffmpeg'): number | null {
  const ffprobe = ffmpegPath.replace(/ffmpeg([^/]*)$/, 'ffprobe$1');
  const r = spawnSync(ffprobe, ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) return null; // no ffprobe: keep the count of frames handed over
  const n = Number.parseInt(r.stdout ?? '', 10);
  return Number.isInteger(n) && n >= 0 ? n : 0; // no file, or nothing readable in it: nothing stored
}

/** "ffmpeg was killed by SIGKILL" / "ffmpeg exited with code 1". */
export function exitText(what: string, code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `${what} was killed by ${signal}` : `${what} exited with code ${code}`;
}

/** ffmpeg's video encoders (`ffmpeg -encoders`, the V lines), by binary. */
const encoders = new Map<string, string[]>();
export function videoEncoders(ffmpegPath = 'ffmpeg'): string[] {
  let list = encoders.get(ffmpegPath);
  if (!list) {
    const r = spawnSync(ffmpegPath, ['-hide_banner', '-encoders'], { encoding: 'utf8', timeout: 10_000 });
    list = (r.stdout ?? '')
      .split('\n')
      .map((l) => /^\s*V[A-Z.]{5}\s+(\S+)/.exec(l)?.[1])
      .filter((n): n is string => !!n && n !== '=');
    encoders.set(ffmpegPath, list);
  }
  return list;
}

/** Throws `UnsupportedFormatError` naming the available encoders when ffmpeg lacks video encoder `codec`. */
export function checkEncoder(codec: string, ffmpegPath = 'ffmpeg'): void {
  checkFfmpeg(ffmpegPath);
  const list = videoEncoders(ffmpegPath);
  if (list.length && !list.includes(codec))
    throw new UnsupportedFormatError(`ffmpeg has no video encoder '${codec}'; available: ${list.join(', ')}`, { parameter: 'codec', codec, choices: list });
}

/** Raw frames → one ffmpeg process (stdin: our Matroska stream with per-frame capture timestamps). */
export class FfmpegOut implements VideoOut {
  readonly storage: string;
  private readonly child: ChildProcess;
  private readonly mkv: MkvWriter;
  private stderrTail = '';
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  private _bytes = 0;
  private readonly ffmpeg: string;
  /** Frames in the finished file (counted after ffmpeg exits), or null when they could not be counted. */
  storedFrames: number | null = null;

  constructor(
    private readonly path: string,
    spec: VideoSpec,
    title: string,
    opts: VideoEncodeOptions,
  ) {
    const fmt = spec.pixelFormat;
    if (!RAW_FOURCC[fmt])
      throw new UnsupportedFormatError(`cannot record pixel format '${fmt}': expected mjpeg or one of ${Object.keys(RAW_FOURCC).join(', ')}`, {
        choices: ['mjpeg', ...Object.keys(RAW_FOURCC)],
      });
    const ffmpeg = opts.ffmpegPath ?? 'ffmpeg';
    this.ffmpeg = ffmpeg;
    checkFfmpeg(ffmpeg);
    const codec = opts.codec ?? 'libx264';
    checkEncoder(codec, ffmpeg);
    this.storage = `ffmpeg:${codec}`;
    // Rows padded past width×bpp: declare the padded width and crop it off in ffmpeg (no copy here).
    const bpp = PACKED_BPP[fmt];
    const storedWidth = bpp && spec.stride > spec.width * bpp && spec.stride % bpp === 0 ? spec.stride / bpp : spec.width;
    this.mkv = new MkvWriter({ codecId: 'V_UNCOMPRESSED', width: storedWidth, height: spec.height, pixelFormat: fmt, title });
    const yuv420 = codec === 'libx264' || codec === 'libx265' || codec === 'h264_v4l2m2m';
    // 4:2:0 needs even sizes: crop one pixel off an odd edge rather than fail.
    const w = yuv420 ? spec.width & ~1 : spec.width;
    const h = yuv420 ? spec.height & ~1 : spec.height;
    const filters = w !== storedWidth || h !== spec.height ? ['-vf', `crop=${w}:${h}:0:0`] : [];
    const enc: string[] = ['-c:v', codec];
    if (codec === 'libx264' || codec === 'libx265') enc.push('-preset', opts.preset ?? 'ultrafast', '-tune', 'zerolatency');
    if (opts.crf !== undefined) enc.push('-crf', String(opts.crf));
    if (yuv420) enc.push('-pix_fmt', 'yuv420p');
    const args = [
      '-hide_banner', '-loglevel', 'error',
      // The stream header says everything: skip probing (it would hold back the first ~20 frames).
      '-probesize', '32', '-analyzeduration', '0', '-fpsprobesize', '0',
      '-f', 'matroska', '-i', 'pipe:0',
      ...filters,
      ...enc,
      // Keep our per-frame timestamps exactly: no frame-rate resampling, encoder clock = input clock (µs).
      '-fps_mode', 'passthrough', '-enc_time_base', '1:1000000', '-copyts',
      '-metadata', `title=${title}`,
      '-f', 'matroska', '-cluster_time_limit', '500', '-flush_packets', '1',
      ...(opts.extraArgs ?? []),
      '-y', path,
    ];
    // Its own process group: a Ctrl-C in the terminal must reach us, not ffmpeg — we end it by closing its
    // stdin once the ring is drained (and if we die, the closed pipe ends it just the same).
    this.child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-2000);
    });
    this.child.stdin!.on('error', () => {}); // EPIPE after ffmpeg died: reported through exit below
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve(code);
      }),
    );
    this.child.on('error', () => {});
    this.send(this.mkv.header());
  }

  private sizeAt = 0;
  private size = 0;
  /** Bytes of the encoded file on disk (checked at most every 200 ms). */
  get bytes(): number {
    const now = Date.now();
    if (now - this.sizeAt > 200) {
      this.sizeAt = now;
      try {
        this.size = statSync(this.path).size;
      } catch {
        // not created yet
      }
    }
    return this.size;
  }

  /** Bytes of raw frames handed to the encoder. */
  get rawBytes(): number {
    return this._bytes;
  }

  private failure(): Error {
    const why = this.stderrTail.trim().split('\n').slice(-2).join(' | ') || exitText('ffmpeg', this.exitCode ?? null, this.exitSignal);
    // A signal is news even when ffmpeg printed something before it died.
    if (this.exitSignal && !why.includes(this.exitSignal)) return ioError('encoding to', this.path, new Error(`${exitText('ffmpeg', null, this.exitSignal)}: ${why}`));
    return ioError('encoding to', this.path, new Error(why));
  }

  private send(buf: Uint8Array, cb?: (err?: Error | null) => void): void {
    this._bytes += buf.byteLength;
    this.child.stdin!.write(buf, cb);
  }

  writeFrame(data: Uint8Array, ptsUs: number, key: boolean): Promise<void> {
    if (this.exitCode !== undefined) return Promise.reject(this.failure());
    this.send(this.mkv.frameHead(ptsUs, data.byteLength, key));
    // The write callback fires once the kernel has the bytes: only then may the ring slot be reused.
    return new Promise((resolve, reject) => {
      const onExit = () => reject(this.failure());
      this.child.once('exit', onExit);
      this.send(data, (err) => {
        this.child.off('exit', onExit);
        if (!err) return resolve();
        // A broken pipe means ffmpeg died: wait (briefly) for its exit, whose status and stderr say why.
        const timer = setTimeout(() => reject(this.exitCode !== undefined ? this.failure() : ioError('encoding to', this.path, err)), 2000);
        void this.exited.then(() => {
          clearTimeout(timer);
          reject(this.failure());
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.exitCode === undefined) this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    this.sizeAt = 0;
    // Stored means in the file: count what ffmpeg actually wrote (it may have died with frames buffered).
    this.storedFrames = countPackets(this.path, this.ffmpeg);
    if (code !== 0) throw this.failure();
  }
}

export const isMjpeg = (spec: VideoSpec) => spec.pixelFormat === 'mjpeg' || spec.pixelFormat === 'jpeg';
