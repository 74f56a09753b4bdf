/**
 * Removes silence from a recorded WAV: every run quieter than `thresholdDb` (peak, dBFS) lasting at least
 * `minMs` is cut, keeping `keepMs` at each edge so speech does not sound clipped. Writes a new WAV plus a
 * segment map that keeps the timing: each kept segment's place in the source file and its capture time.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { InvalidOptionError, IOError, bytesPerSample, type SampleFormat } from '@senseflow/core';
import { OutFile, TextOut } from '../file/out-file.js';
import { parseWavHeader, wavHeader } from '../file/wav.js';

export interface TrimSilenceOptions {
  /** Peak level below which audio counts as silence, in dBFS (default -50). */
  thresholdDb?: number;
  /** Only silences at least this long are cut (default 500 ms). */
  minMs?: number;
  /** Silence kept at each edge of a cut (default 50 ms, at most minMs / 2). */
  keepMs?: number;
  /** Output WAV (default: `<input>.trimmed.wav`). */
  output?: string;
  /** The input's timestamp sidecar, for capture times in the segment map (default: `<stem>.timestamps.csv` when present). */
  timestamps?: string;
}

export interface TrimSegment {
  /** First frame of the segment in the output and in the source file; frames kept. */
  outFrame: number;
  srcFrame: number;
  frames: number;
  /** Capture time of the segment's first sample (decimal string), when the sidecar is known. */
  captureNs: string | null;
}

export interface TrimResult {
  output: string;
  segmentsFile: string;
  rate: number;
  keptFrames: number;
  removedFrames: number;
  segments: TrimSegment[];
}

const WINDOW_MS = 10;
const FULL: Record<SampleFormat, number> = { s16le: 32768, s32le: 2147483648, f32le: 1 };

/** Capture-time lookup from an audio timestamp sidecar (fileFrame → captureNs, at the nominal rate in between). */
function captureLookup(path: string | undefined, rate: number): (frame: number) => string | null {
  if (!path || !existsSync(path)) return () => null;
  const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const fileFrames = rows.map((r) => Number(r[5]));
  const caps = rows.map((r) => BigInt(r[3]));
  return (frame) => {
    let lo = 0;
    let hi = fileFrames.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (fileFrames[mid] <= frame) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return null;
    return String(caps[best] + (BigInt(frame - fileFrames[best]) * 1_000_000_000n) / BigInt(rate));
  };
}

/**
 * Cuts long silences out of a WAV recording.
 *
 * @example
 * ```ts
 * const r = trimSilence('rec/audio.wav', { thresholdDb: -45, minMs: 700 });
 * // r.output === 'rec/audio.trimmed.wav'; r.segments map kept audio back to capture times
 * ```
 */
export function trimSilence(input: string, opts: TrimSilenceOptions = {}): TrimResult {
  const thresholdDb = opts.thresholdDb ?? -50;
  const minMs = opts.minMs ?? 500;
  if (!Number.isFinite(thresholdDb) || thresholdDb > 0 || thresholdDb < -200) throw new InvalidOptionError('thresholdDb', 'a level in dBFS from -200 to 0', thresholdDb);
  if (!Number.isFinite(minMs) || minMs < WINDOW_MS) throw new InvalidOptionError('minMs', `a duration in ms ≥ ${WINDOW_MS}`, minMs);
  const keepMs = Math.min(opts.keepMs ?? 50, minMs / 2);
  let fd: number;
  try {
    fd = openSync(input, 'r');
  } catch (e) {
    throw new IOError(`cannot read ${input}: ${(e as Error).message}`, { path: input }, { cause: e });
  }
  try {
    const head = Buffer.alloc(4096);
    readSync(fd, head, 0, head.length, 0);
    const info = parseWavHeader(head);
    const bpf = info.channels * bytesPerSample(info.format);
    const totalFrames = Math.floor(info.dataBytes / bpf);
    const win = Math.max(1, Math.round((info.rate * WINDOW_MS) / 1000));
    const limit = FULL[info.format] * 10 ** (thresholdDb / 20);
    // Pass 1: which 10 ms windows are silent (1 byte per window).
    const nWin = Math.ceil(totalFrames / win);
    const silent = new Uint8Array(nWin);
    const block = Buffer.alloc(win * bpf * 100);
    for (let w = 0; w < nWin; w += 100) {
      const frames = Math.min(win * 100, totalFrames - w * win);
      const got = readSync(fd, block, 0, frames * bpf, info.dataOffset + w * win * bpf);
      const samples =
        info.format === 's16le'
          ? new Int16Array(block.buffer, block.byteOffset, got / 2)
          : info.format === 's32le'
            ? new Int32Array(block.buffer, block.byteOffset, got / 4)
            : new Float32Array(block.buffer, block.byteOffset, got / 4);
      const perWin = win * info.channels;
      for (let k = 0; k * perWin < samples.length; k++) {
        let peak = 0;
        const end = Math.min(samples.length, (k + 1) * perWin);
        for (let i = k * perWin; i < end; i++) {
          const a = Math.abs(samples[i]);
          if (a > peak) peak = a;
        }
        silent[w + k] = peak < limit ? 1 : 0;
      }
    }
    // Kept ranges: everything except the inner part of long silent runs.
    const minWin = Math.ceil(minMs / WINDOW_MS);
    const keepFrames = Math.round((info.rate * keepMs) / 1000);
    const kept: [number, number][] = [];
    let cursor = 0;
    for (let w = 0; w < nWin; ) {
      if (!silent[w]) {
        w++;
        continue;
      }
      let e = w;
      while (e < nWin && silent[e]) e++;
      if (e - w >= minWin) {
        const cutFrom = w === 0 ? 0 : w * win + keepFrames;
        const cutTo = e === nWin ? totalFrames : e * win - keepFrames;
        if (cutTo > cutFrom) {
          if (cutFrom > cursor) kept.push([cursor, cutFrom]);
          cursor = cutTo;
        }
      }
      w = e;
    }
    if (cursor < totalFrames) kept.push([cursor, totalFrames]);
    // Pass 2: copy the kept ranges.
    const output = opts.output ?? input.replace(/\.wav$/i, '') + '.trimmed.wav';
    const segmentsFile = output.replace(/\.wav$/i, '') + '.segments.csv';
    const ts = captureLookup(opts.timestamps ?? input.replace(/\.wav$/i, '') + '.timestamps.csv', info.rate);
    const out = new OutFile(output);
    const seg = new TextOut(segmentsFile, 'outFrame,srcFrame,frames,captureNs');
    const segments: TrimSegment[] = [];
    let outFrames = 0;
    try {
      out.append(wavHeader(info, 0));
      for (const [from, to] of kept) {
        segments.push({ outFrame: outFrames, srcFrame: from, frames: to - from, captureNs: ts(from) });
        seg.line(`${outFrames},${from},${to - from},${ts(from) ?? ''}`);
        for (let f = from; f < to; ) {
          const n = Math.min(to - f, Math.floor(block.length / bpf));
          const got = readSync(fd, block, 0, n * bpf, info.dataOffset + f * bpf);
          out.append(block.subarray(0, got));
          f += n;
        }
        outFrames += to - from;
      }
      out.writeAt(0, wavHeader(info, outFrames * bpf));
    } finally {
      out.close();
      seg.close();
    }
    return { output, segmentsFile, rate: info.rate, keptFrames: outFrames, removedFrames: totalFrames - outFrames, segments };
  } finally {
    closeSync(fd);
  }
}
