/**
 * `DIR/session.json`: the recording session's manifest, a stable format for tools (documented in
 * docs/recording.md). Bigints are decimal strings; file paths are relative to DIR. It is rewritten about
 * once a second while recording (atomically: temp file + rename), so a killed session still describes
 * its files; `complete` turns true only after a clean stop.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IOError, type StreamSpec } from '@senseflow/core';
import type { McapManifest } from '../mcap/manifest.js';

export const MANIFEST_VERSION = 1 as const;
export const MANIFEST_FILE = 'session.json';

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
  /** The first write error, if any ({ code, message }). */
  error: { code: string; message: string } | null;
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
  /** The origin: container timestamp 0 = this CLOCK_MONOTONIC instant = this wall time. */
  clock: { monotonicNs: string; wallTime: string };
  streams: ManifestStream[];
  merged: MergedInfo | null;
  /** The session's MCAP file (format `mcap`), or null/absent. */
  mcap?: McapManifest | null;
}

const bigintsAsStrings = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/** Writes the manifest atomically (temp file + rename). */
export function writeManifest(dir: string, m: SessionManifest): void {
  const path = join(dir, MANIFEST_FILE);
  try {
    writeFileSync(`${path}.tmp`, JSON.stringify(m, bigintsAsStrings, 2) + '\n');
    renameSync(`${path}.tmp`, path);
  } catch (e) {
    throw new IOError(`cannot write ${path}: ${(e as Error).message}`, { path, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
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
