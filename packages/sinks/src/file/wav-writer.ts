/**
 * Live WAV writer: appends samples straight from the ring and rewrites the header sizes every
 * `headerIntervalS`, so a killed process leaves a file that plays up to the last rewrite (≤ 0.5 s lost by
 * default). Switches to RF64 in place when the data passes 4 GiB.
 */
import { bytesPerSample } from '@senseflow/core';
import { OutFile } from './out-file.js';
import { wavHeader, wavHeaderBytes, type WavFormat } from './wav.js';

const ZEROS = new Uint8Array(64 * 1024);

export class WavWriter {
  private readonly out: OutFile;
  private readonly bytesPerFrame: number;
  private lastHeaderNs = 0n;
  private headerBytes: number;
  /** Sample frames written (including filled silence). */
  frames = 0;

  constructor(
    path: string,
    private readonly fmt: WavFormat,
    private readonly headerIntervalNs: bigint,
  ) {
    this.out = new OutFile(path);
    this.bytesPerFrame = fmt.channels * bytesPerSample(fmt.format);
    this.headerBytes = wavHeaderBytes(fmt);
    this.out.append(wavHeader(fmt, 0));
  }

  get dataBytes(): number {
    return this.out.size - this.headerBytes;
  }
  get fileBytes(): number {
    return this.out.size;
  }
  /** True once the data is past 4 GiB (the header is RF64). */
  get rf64(): boolean {
    return this.dataBytes + this.headerBytes - 8 > 0xffffffff;
  }

  /** Appends interleaved samples (a view over the ring: written without a copy). */
  write(samples: Uint8Array): void {
    this.out.append(samples);
    this.frames += samples.byteLength / this.bytesPerFrame;
  }

  /** Appends `frames` of silence (what the stream lost), so the file's timeline stays the capture timeline. */
  silence(frames: number): void {
    let left = frames * this.bytesPerFrame;
    while (left > 0) {
      const n = Math.min(left, ZEROS.byteLength);
      this.out.append(ZEROS.subarray(0, n));
      left -= n;
    }
    this.frames += frames;
  }

  /** Overwrites already-written samples with silence (a chunk found torn after it was written). */
  blank(fromFrame: number, frames: number): void {
    let at = this.headerBytes + fromFrame * this.bytesPerFrame;
    let left = frames * this.bytesPerFrame;
    while (left > 0) {
      const n = Math.min(left, ZEROS.byteLength);
      this.out.writeAt(at, ZEROS.subarray(0, n));
      at += n;
      left -= n;
    }
  }

  /** Rewrites the header if the interval has passed (call after each batch of writes). */
  maybeUpdateHeader(nowNs: bigint): void {
    if (nowNs - this.lastHeaderNs < this.headerIntervalNs) return;
    this.updateHeader();
    this.lastHeaderNs = nowNs;
  }

  updateHeader(): void {
    this.out.writeAt(0, wavHeader(this.fmt, this.dataBytes));
  }

  close(): void {
    try {
      this.updateHeader();
      this.out.sync();
    } finally {
      this.out.close();
    }
  }
}
