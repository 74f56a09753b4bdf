/**
 * `DIR/session.json`: the recording session's manifest, a stable format for tools (documented in
 * docs/recording.md). Bigints are decimal strings; file paths are relative to DIR. It is rewritten about
 * once a second while recording (atomically: temp file + rename), so a killed session still describes
 * its files; `complete` turns true only after a clean stop.
 */
import { closeSync, fstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { IOError, type StreamSpec } from '@senseflow/core';

export const MANIFEST_VERSION = 1 as const;
export const MANIFEST_FILE = 'session.json';

/** The MCAP part of a session manifest (`session.json` → `mcap`); written by mcap/manifest.ts. */
export interface McapManifest {
  /** The MCAP file, relative to the session directory. */
  file: string;
  /** True once the file has its summary and index (a clean stop). */
  complete: boolean;
  bytes: number;
  /** Per stream: its data channel, schema and message count (= items stored), and drops by cause. */
  streams: Record<string, { topic: string; schema: string; messages: number; drops: Record<string, number> }>;
  error: { code: string; message: string } | null;
}

export interface ManifestStream {
  name: string;
  kind: StreamSpec['kind'];
  /** The device's description (`[vivid] 640x480@25fps, yuyv`, `[tone] 440 Hz sine…`) or id. */
  device: string;
  /** The stream spec as the source described it (ring sizing included). */
  spec: StreamSpec;
  /** The main file (video .mkv, audio .wav, records .ndjson), relative to the session directory. */
  file: string;
  /** Every file of the stream's data (records: .ndjson and .csv). */
  files: string[];
  /** Timestamp sidecar (CSV: seq, captureNs, receiveNs, …). */
  timestamps: string;
  /** Drop ledger (NDJSON: one line whenever loss was counted, by cause). */
  dropLedger: string;
  /** `mjpeg-passthrough`, `ffmpeg:libx264`, `wav`, `rf64`, `ndjson+csv`. */
  storage: string;
  /** Items stored: video frames, audio chunks, records. */
  items: number;
  /** Audio: sample frames in the WAV (silence filled in for lost audio included). */
  frames?: number;
  bytes: number;
  /** Loss by cause: driver, ringFull, disconnect, restart, overwritten (sink too slow), io (not stored after a write error), torn. Audio counts sample frames. */
  drops: Record<string, number>;
  /** Capture time (CLOCK_MONOTONIC ns) of the first and last stored item; audio: first sample of the WAV. */
  firstCaptureNs: string | null;
  lastCaptureNs: string | null;
  /** The first write error, if any: what it was and when (CLOCK_MONOTONIC ns); the stream stored nothing after it. */
  error: { code: string; message: string; atNs?: string | null } | null;
  /**
   * What happened to the source while recording (crash, restart, stall, disconnect, error, …), in order;
   * `atNs` is CLOCK_MONOTONIC ns (decimal string), the rest as the source reported it.
   */
  events?: Array<{ type: string; atNs: string; [k: string]: unknown }>;
}

export interface MergedInfo {
  file: string;
  video: string;
  audio: string;
  /** Seconds added to the audio's capture times before muxing. */
  latencyBias: number;
  createdAt: string;
}

export interface SessionManifest {
  version: typeof MANIFEST_VERSION;
  /** ISO wall-clock time of the session origin. */
  startedAt: string;
  /** ISO time of the clean stop, or null while recording (or when the process was killed). */
  stoppedAt: string | null;
  complete: boolean;
  /** Why `complete` is false after a stop (a stream's write failed, the stop deadline cut items), else null. */
  reason?: string | null;
  /** Set by `repair()`: when, and what it recovered and found lost. */
  repaired?: { at: string; report: string[] } | null;
  /** The origin: container timestamp 0 = this CLOCK_MONOTONIC instant = this wall time. */
  clock: { monotonicNs: string; wallTime: string };
  streams: ManifestStream[];
  merged: MergedInfo | null;
  /** The session's MCAP file (format `mcap`), or null/absent. */
  mcap?: McapManifest | null;
}

const bigintsAsStrings = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

const BLOCK = 4096;

/**
 * The manifest text, padded with spaces (valid JSON) to whole 4 KiB blocks with ≥ 1 KiB to spare: the file
 * keeps its blocks, so the next version can be written over it in place when the disk is full.
 */
function manifestText(m: SessionManifest): Buffer {
  const json = JSON.stringify(m, bigintsAsStrings, 2);
  const bytes = Buffer.byteLength(json) + 1;
  const size = Math.ceil((bytes + 1024) / BLOCK) * BLOCK;
  return Buffer.from(json + ' '.repeat(size - bytes) + '\n', 'utf8');
}

/**
 * Writes the manifest atomically (temp file + rename). When the disk is full the temp file cannot be
 * written: it is removed and the manifest is written over the old one in place (its blocks are already
 * allocated), so a full disk still leaves a manifest that says what happened.
 */
export function writeManifest(dir: string, m: SessionManifest): void {
  const path = join(dir, MANIFEST_FILE);
  const text = manifestText(m);
  try {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  } catch (e) {
    rmSync(`${path}.tmp`, { force: true });
    if (!writeInPlace(path, text))
      throw new IOError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'disk full' : (e as Error).message}`, { path, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
  }
}

/** Overwrites an existing manifest with `text` if it fits in the blocks the file has; true when done. */
function writeInPlace(path: string, text: Buffer): boolean {
  let fd = -1;
  try {
    fd = openSync(path, 'r+');
    const size = fstatSync(fd).size;
    if (text.length > size) {
      // Shorten the padding to fit (the JSON itself must fit).
      const json = text.toString('utf8').trimEnd();
      if (Buffer.byteLength(json) + 1 > size) return false;
      text = Buffer.from(json + ' '.repeat(size - Buffer.byteLength(json) - 1) + '\n');
    } else if (text.length < size) text = Buffer.concat([text.subarray(0, text.length - 1), Buffer.alloc(size - text.length, ' '), Buffer.from('\n')]);
    let done = 0;
    while (done < text.length) done += writeSync(fd, text, done, text.length - done, done);
    return true;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Reads `DIR/session.json`. */
export function readManifest(dir: string): SessionManifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IOError(`cannot read ${path}: ${(e as Error).message}`, { path, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
  }
  const m = JSON.parse(text) as SessionManifest;
  if (m.version !== MANIFEST_VERSION) throw new IOError(`${path}: manifest version ${m.version} is not supported (expected ${MANIFEST_VERSION})`, { path });
  return m;
}
