/**
 * Messages between a FileSink (main thread) and its worker. The worker reads the ring itself; these carry
 * only control, progress (a few per second) and the final summary — never per-item data.
 */
import type { SerializedError, StreamSpec } from '@senseflow/core';

export interface VideoEncodeOptions {
  /**
   * What to do with raw frames: an ffmpeg encoder name (default `libx264`, e.g. `libx265`, `mjpeg`,
   * `ffv1`). MJPEG frames from the camera are always stored as they are (no re-encoding).
   */
  codec?: string;
  /** x264/x265 preset (default `ultrafast`: capture must keep up). */
  preset?: string;
  /** Constant rate factor / quality for the encoder (default: the encoder's own). */
  crf?: number;
  /** Extra ffmpeg output arguments (inserted before the output file). */
  extraArgs?: string[];
  /** The ffmpeg binary (default `ffmpeg` on PATH). */
  ffmpegPath?: string;
}

export interface SinkWorkerData {
  ring: SharedArrayBuffer;
  spec: StreamSpec;
  name: string;
  /** Main media file (video .mkv, audio .wav, records .ndjson). */
  file: string;
  /** Records only: the CSV twin of `file` (or null for none). */
  csv: string | null;
  timestamps: string;
  dropLedger: string;
  video: VideoEncodeOptions;
  /** Seconds between WAV header rewrites (default 0.5). */
  headerIntervalS: number;
  logLevel: string;
}

/** Counts as they stand; bigints as decimal strings. */
export interface SinkProgress {
  /** Items stored in the file (video frames, audio chunks, records). */
  items: number;
  /** Audio: sample frames stored (silence filled in for lost audio included). */
  frames: number;
  /** Bytes written to the main file (and to ffmpeg's stdin for encoded video). */
  bytes: number;
  drops: Record<string, number>;
  firstCaptureNs: string | null;
  lastCaptureNs: string | null;
  /** True once a write failed: the sink keeps reading (and counting) but stores nothing more. */
  failed: boolean;
  /** When the write failed (CLOCK_MONOTONIC ns), or null. */
  failedAtNs: string | null;
}

export interface SinkSummary extends SinkProgress {
  file: string;
  files: string[];
  timestamps: string;
  dropLedger: string;
  /** How video was stored: `mjpeg-passthrough`, `ffmpeg:<codec>`; audio `wav`/`rf64`; records `ndjson+csv`. */
  storage: string;
  error: SerializedError | null;
}

/** `start` carries the time origin: CLOCK_MONOTONIC ns (decimal string) that container time 0 stands for, and its wall-clock ms. */
export type ToWorker = { t: 'start'; originNs: string; originWallMs: number; baseline: Record<string, number> } | { t: 'stop'; timeoutMs?: number };
export type FromWorker =
  | { t: 'ready' }
  | { t: 'started'; storage: string }
  | { t: 'progress'; progress: SinkProgress }
  | { t: 'error'; error: SerializedError }
  | { t: 'done'; summary: SinkSummary };
