/**
 * Repairs a session directory left by a crash (kill -9, power loss): cuts torn tails off the line files,
 * fixes the WAV/RF64 header to the samples on disk, finalizes Matroska files (cut after the last complete
 * frame, Duration filled in; ffmpeg remuxes a file it wrote without one), trims sidecars to what the files
 * hold, and rebuilds session.json from the files, sidecars and ledgers. Says what it recovered and what is lost.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { bytesPerSample, InvalidOptionError, IOError, type StreamSpec } from '@senseflow/core';
import { scanMkv } from '../file/mkv-reader.js';
import { truncateLines } from '../file/out-file.js';
import { countPackets } from '../file/video-out.js';
import { parseWavHeader, wavHeader, wavHeaderBytes } from '../file/wav.js';
import { MANIFEST_FILE, MANIFEST_VERSION, readManifest, writeManifest, type ManifestStream, type SessionManifest } from './manifest.js';
import { SessionLock } from './session-dir.js';

export interface RepairOptions {
  /** The ffmpeg binary, for Matroska files ffmpeg wrote without a Duration (default `ffmpeg`). */
  ffmpegPath?: string;
}

export interface RepairStreamReport {
  name: string;
  kind: StreamSpec['kind'];
  /** What the files hold now, in words ("142 frames, 5.7 s"). */
  recovered: string;
  /** What could not be kept (torn tails, sidecar rows without data), in words; empty when nothing. */
  lost: string[];
  /** What was changed on disk. */
  fixed: string[];
}

export interface RepairReport {
  dir: string;
  streams: RepairStreamReport[];
  /** The rebuilt manifest (also written to DIR/session.json). */
  manifest: SessionManifest;
  /** True when nothing needed fixing beyond rebuilding the manifest. */
  clean: boolean;
}

const lines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

/** Cuts a torn last line; notes it. */
function cutTorn(path: string, label: string, r: RepairStreamReport): void {
  if (!existsSync(path)) return;
  const n = truncateLines(path);
  if (n > 0) {
    r.fixed.push(`cut a torn last line off ${label}`);
    r.lost.push(`a partly written line of ${label}`);
  }
}

function ledgerDrops(path: string): Record<string, number> {
  const drops: Record<string, number> = {};
  for (const l of lines(path)) {
    try {
      const e = JSON.parse(l) as { cause?: string; count?: number };
      if (e.cause && typeof e.count === 'number') drops[e.cause] = (drops[e.cause] ?? 0) + e.count;
    } catch {
      // a torn line was cut above; anything else unreadable is skipped
    }
  }
  return drops;
}

/** Streams in the directory: from the old manifest when it is readable, else from the sidecar files. */
function streamNames(dir: string, old: SessionManifest | null): string[] {
  const found = readdirSync(dir)
    .map((f) => /^(.+)\.timestamps\.csv$/.exec(f)?.[1])
    .filter((n): n is string => !!n);
  const fromOld = old?.streams.map((s) => s.name) ?? [];
  return [...fromOld, ...found.filter((n) => !fromOld.includes(n)).sort()];
}

function repairAudio(dir: string, name: string, old: ManifestStream | undefined, r: RepairStreamReport): Partial<ManifestStream> {
  const file = old?.file ?? `${name}.wav`;
  const path = join(dir, file);
  const fd = openSync(path, 'r+');
  try {
    const head = Buffer.alloc(4096);
    readSync(fd, head, 0, head.length, 0);
    const info = parseWavHeader(head);
    const fmt = { rate: info.rate, channels: info.channels, format: info.format };
    const bpf = info.channels * bytesPerSample(info.format);
    const headerBytes = wavHeaderBytes(fmt);
    const size = statSync(path).size;
    const frames = Math.floor(Math.max(0, size - headerBytes) / bpf);
    const dataBytes = frames * bpf;
    if (headerBytes + dataBytes < size) {
      truncateSync(path, headerBytes + dataBytes);
      r.lost.push(`${size - headerBytes - dataBytes} bytes of a partly written sample frame`);
    }
    if (info.dataBytes !== dataBytes) {
      const h = wavHeader(fmt, dataBytes);
      writeSync(fd, h, 0, h.length, 0);
      r.fixed.push(`WAV header: ${(info.dataBytes / bpf / info.rate).toFixed(3)} s → ${(frames / info.rate).toFixed(3)} s (${dataBytes > 0xffffffff - headerBytes ? 'RF64' : 'WAV'})`);
    }
    const spec = (old?.spec ?? { kind: 'audio', ...fmt }) as StreamSpec;
    const rows = lines(join(dir, `${name}.timestamps.csv`)).slice(1).map((l) => l.split(','));
    r.recovered = `${(frames / info.rate).toFixed(2)} s of audio (${frames} sample frames)`;
    return {
      file,
      files: [file],
      spec,
      storage: dataBytes + headerBytes - 8 > 0xffffffff ? 'rf64' : 'wav',
      items: rows.length,
      frames,
      bytes: headerBytes + dataBytes,
      firstCaptureNs: rows[0]?.[3] ?? null,
      lastCaptureNs: rows.at(-1)?.[3] ?? null,
    };
  } finally {
    closeSync(fd);
  }
}

function repairVideo(dir: string, name: string, old: ManifestStream | undefined, r: RepairStreamReport, ffmpeg: string): Partial<ManifestStream> {
  const file = old?.file ?? `${name}.mkv`;
  const path = join(dir, file);
  let scan = scanMkv(path);
  if (scan.end < scan.size) {
    truncateSync(path, scan.end);
    r.fixed.push(`cut ${scan.size - scan.end} bytes of a partly written frame off ${file}`);
    r.lost.push('one partly written frame');
  }
  if (scan.duration && scan.blocks > 0 && scan.duration.value < scan.lastTicks) {
    const b = Buffer.alloc(scan.duration.size);
    if (scan.duration.size === 8) b.writeDoubleBE(scan.lastTicks);
    else b.writeFloatBE(scan.lastTicks);
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, b, 0, b.length, scan.duration.offset);
    } finally {
      closeSync(fd);
    }
    r.fixed.push(`${file}: duration set to ${((scan.lastTicks * scan.timecodeScaleNs) / 1e9).toFixed(3)} s`);
  } else if (!scan.duration && scan.blocks > 0) {
    // Written by ffmpeg and never finalized: let ffmpeg rewrite it (stream copy, same packets).
    const tmp = join(dir, `.${file}.repair.mkv`);
    const res = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', path, '-map', '0', '-c', 'copy', '-f', 'matroska', tmp], { timeout: 600_000 });
    if (res.status === 0) {
      renameSync(tmp, path);
      r.fixed.push(`${file}: finalized by remuxing (ffmpeg -c copy)`);
      scan = scanMkv(path);
    } else {
      rmSync(tmp, { force: true });
      r.lost.push(`${file} could not be finalized (${res.error?.message ?? `ffmpeg exit ${res.status}`}); it still plays up to its last complete frame`);
    }
  }
  // Count what players see (ffprobe when available, else our own block count).
  const frames = countPackets(path, ffmpeg) ?? scan.blocks;
  const ts = join(dir, `${name}.timestamps.csv`);
  const rows = lines(ts).slice(1);
  if (rows.length > frames) {
    truncateLines(ts, frames + 1);
    r.fixed.push(`${name}.timestamps.csv: ${rows.length - frames} rows for frames not in the file removed`);
    r.lost.push(`${rows.length - frames} frames handed to the writer but not in ${file}`);
  } else if (rows.length < frames) r.lost.push(`capture times of the last ${frames - rows.length} frames (their sidecar rows were not written)`);
  const kept = rows.slice(0, frames).map((l) => l.split(','));
  const spec = (old?.spec ?? { kind: 'video', width: scan.width ?? 0, height: scan.height ?? 0, pixelFormat: scan.codecId === 'V_MJPEG' ? 'mjpeg' : 'unknown', fps: 0 }) as StreamSpec;
  r.recovered = `${frames} frames (${((scan.lastTicks * scan.timecodeScaleNs) / 1e9).toFixed(2)} s)`;
  return {
    file,
    files: [file],
    spec,
    storage: old?.storage ?? (scan.codecId === 'V_MJPEG' ? 'mjpeg-passthrough' : 'ffmpeg'),
    items: frames,
    bytes: statSync(path).size,
    firstCaptureNs: kept[0]?.[2] ?? null,
    lastCaptureNs: kept.at(-1)?.[2] ?? null,
  };
}

function repairRecords(dir: string, name: string, old: ManifestStream | undefined, r: RepairStreamReport): Partial<ManifestStream> {
  const file = old?.file ?? `${name}.ndjson`;
  const csv = `${name}.csv`;
  cutTorn(join(dir, file), file, r);
  cutTorn(join(dir, csv), csv, r);
  const rows = lines(join(dir, file));
  const first = rows.length ? (JSON.parse(rows[0]) as Record<string, unknown>) : null;
  const last = rows.length ? (JSON.parse(rows.at(-1)!) as Record<string, unknown>) : null;
  const header = lines(join(dir, csv))[0]?.split(',') ?? [];
  const spec = (old?.spec ?? { kind: 'records', rate: 0, fields: header.slice(3).map((n) => ({ name: n })) }) as StreamSpec;
  r.recovered = `${rows.length} records`;
  const files = existsSync(join(dir, csv)) ? [file, csv] : [file];
  return {
    file,
    files,
    spec,
    storage: files.length === 2 ? 'ndjson+csv' : 'ndjson',
    items: rows.length,
    bytes: statSync(join(dir, file)).size,
    firstCaptureNs: (first?.captureNs as string) ?? null,
    lastCaptureNs: (last?.captureNs as string) ?? null,
  };
}

const kindOf = (dir: string, name: string, old: ManifestStream | undefined): StreamSpec['kind'] | null =>
  old?.kind ?? (existsSync(join(dir, `${name}.mkv`)) ? 'video' : existsSync(join(dir, `${name}.wav`)) ? 'audio' : existsSync(join(dir, `${name}.ndjson`)) ? 'records' : null);

/**
 * Repairs the session in `dir` after a crash and rewrites its session.json (`complete: false`, with a
 * `repaired` entry). Refuses a directory a live recorder holds (`DeviceBusyError`).
 *
 * @example
 * ```ts
 * const r = repair('rec');
 * for (const s of r.streams) console.log(s.name, s.recovered, s.lost.join('; ') || 'nothing lost');
 * ```
 */
export function repair(dir: string, opts: RepairOptions = {}): RepairReport {
  if (typeof dir !== 'string' || !dir) throw new InvalidOptionError('dir', 'a session directory', dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new IOError(`no session directory at ${dir}`, { path: dir, errno: 'ENOENT' });
  const lock = SessionLock.acquire(dir); // a live recorder's directory is left alone
  try {
    let old: SessionManifest | null = null;
    try {
      old = readManifest(dir);
    } catch {
      // missing or torn: rebuilt from the files alone
    }
    rmSync(join(dir, `${MANIFEST_FILE}.tmp`), { force: true });
    const names = streamNames(dir, old);
    if (names.length === 0) throw new IOError(`${dir} holds no recording (no session.json and no *.timestamps.csv)`, { path: dir });
    const reports: RepairStreamReport[] = [];
    const streams: ManifestStream[] = [];
    for (const name of names) {
      const prev = old?.streams.find((s) => s.name === name);
      const kind = kindOf(dir, name, prev);
      if (!kind) continue;
      const r: RepairStreamReport = { name, kind, recovered: '', lost: [], fixed: [] };
      cutTorn(join(dir, `${name}.timestamps.csv`), `${name}.timestamps.csv`, r);
      cutTorn(join(dir, `${name}.drops.ndjson`), `${name}.drops.ndjson`, r);
      let got: Partial<ManifestStream>;
      try {
        got = kind === 'audio' ? repairAudio(dir, name, prev, r) : kind === 'video' ? repairVideo(dir, name, prev, r, opts.ffmpegPath ?? 'ffmpeg') : repairRecords(dir, name, prev, r);
      } catch (e) {
        r.lost.push(`the stream could not be read: ${(e as Error).message}`);
        got = { items: 0, bytes: 0, firstCaptureNs: null, lastCaptureNs: null };
      }
      const drops = ledgerDrops(join(dir, `${name}.drops.ndjson`));
      streams.push({
        name,
        kind,
        device: prev?.device ?? name,
        spec: got.spec ?? prev?.spec ?? ({ kind } as StreamSpec),
        file: got.file ?? prev?.file ?? name,
        files: got.files ?? prev?.files ?? [],
        timestamps: `${name}.timestamps.csv`,
        dropLedger: `${name}.drops.ndjson`,
        storage: got.storage ?? prev?.storage ?? '',
        items: got.items ?? 0,
        ...(kind === 'audio' ? { frames: got.frames ?? 0 } : {}),
        bytes: got.bytes ?? 0,
        drops,
        firstCaptureNs: got.firstCaptureNs ?? null,
        lastCaptureNs: got.lastCaptureNs ?? null,
        error: prev?.error ?? null,
        events: prev?.events ?? [],
      });
      reports.push(r);
    }
    // The origin: from the old manifest, else the earliest capture time (wall time from the file's age).
    const firsts = streams.map((s) => s.firstCaptureNs).filter((x): x is string => !!x).map(BigInt);
    const origin = old?.clock.monotonicNs ?? String(firsts.length ? firsts.reduce((a, b) => (b < a ? b : a)) : 0n);
    const wall = old?.clock.wallTime ?? statSync(join(dir, streams[0]?.timestamps ?? '.')).birthtime.toISOString();
    const clean = reports.every((r) => r.fixed.length === 0 && r.lost.length === 0);
    const report = reports.map((r) => `${r.name}: recovered ${r.recovered}${r.lost.length ? `; lost ${r.lost.join(', ')}` : ''}`);
    const manifest: SessionManifest = {
      version: MANIFEST_VERSION,
      startedAt: old?.startedAt ?? wall,
      stoppedAt: old?.stoppedAt ?? null,
      complete: old?.complete === true && clean,
      reason: old?.complete === true && clean ? null : (old?.reason ?? 'the recording was cut off (repaired afterwards)'),
      repaired: { at: new Date().toISOString(), report },
      clock: { monotonicNs: origin, wallTime: wall },
      streams,
      merged: old?.merged ?? null,
    };
    writeManifest(dir, manifest);
    return { dir, streams: reports, manifest, clean };
  } finally {
    lock.release();
  }
}
