/**
 * The file sink's worker: reads the source's ring through its own core RingConsumer (the main thread is
 * never in the data path; wake-ups are batched), and stores every item with its capture time, a timestamp
 * sidecar row, and a drop ledger entry whenever loss is counted. It ends on stop, or when the ring closes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  frameBytes,
  ItemFlags,
  monotonicNs,
  RingConsumer,
  serializeError,
  type AudioSpec,
  type FrameView,
  type SampleChunkView,
  type RecordsSpec,
  type SerializedError,
  type VideoSpec,
} from '@senseflow/core';
import { TextOut, truncateLines } from './out-file.js';
import { readFileSync } from 'node:fs';
import type { FromWorker, SinkProgress, SinkSummary, SinkWorkerData, ToWorker } from './protocol.js';
import { RecordsWriter } from './records-writer.js';
import { FfmpegOut, isMjpeg, MjpegMkvOut, type VideoOut } from './video-out.js';
import { WavWriter } from './wav-writer.js';

const d = workerData as SinkWorkerData;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
// The time origin arrives with 'start' (a session gives all its sinks one origin once they are all ready).
let originNs = 0n;
let originWallMs = 0;
const PROGRESS_EVERY_NS = 250_000_000n;
/** Longest silence filled in for one gap in audio (longer outages are filled only this far, and logged). */
const MAX_FILL_S = 600;

const stop = new AbortController();
/** Stop with a deadline: items still in the ring after it are counted (`stopped`), not stored. */
let stopDeadlineNs: bigint | null = null;
const pastStopDeadline = () => stopDeadlineNs !== null && monotonicNs() > stopDeadlineNs;
let startRequested!: () => void;
const started = new Promise<void>((r) => (startRequested = r));
port.on('message', (m: ToWorker) => {
  if (m.t === 'start') {
    originNs = BigInt(m.originNs);
    originWallMs = m.originWallMs;
    baseline = m.baseline;
    startRequested();
  } else if (m.t === 'stop') {
    if (m.timeoutMs !== undefined) stopDeadlineNs = monotonicNs() + BigInt(Math.round(m.timeoutMs * 1e6));
    startRequested();
    stop.abort();
  }
});

const state: SinkProgress = { items: 0, frames: 0, bytes: 0, drops: {}, firstCaptureNs: null, lastCaptureNs: null, failed: false, failedAtNs: null };
let firstError: SerializedError | null = null;
const localDrops: Record<string, number> = {};
const addLocalDrop = (cause: string, n: number) => (localDrops[cause] = (localDrops[cause] ?? 0) + n);

/** A write failed: report once, store nothing more, keep reading so the ledger still counts what is lost. */
function fail(e: unknown): void {
  if (state.failed) return;
  state.failed = true;
  state.failedAtNs = String(monotonicNs());
  firstError = serializeError(e);
  post({ t: 'error', error: firstError });
}

/** Runs a write; after a failure, writes are skipped. Returns false when nothing was stored. */
function guarded(fn: () => void): boolean {
  if (state.failed) return false;
  try {
    fn();
    return true;
  } catch (e) {
    fail(e);
    return false;
  }
}

/** Runs `fn` and returns its value, or null after reporting the failure (e.g. an unwritable path). */
function attempt<T>(fn: () => T): T | null {
  if (state.failed) return null;
  try {
    return fn();
  } catch (e) {
    fail(e);
    return null;
  }
}

const openText = (path: string, header?: string): TextOut | null => attempt(() => new TextOut(path, header));

let ledger: TextOut | null = null;
let ledgerTotals: Record<string, number> = {};
let lastSeq: bigint | null = null;

/** Loss counted before the recording started (the writer's counters are cumulative since the source opened). */
let baseline: Record<string, number> | null = null;

type Reader = RingConsumer;

function currentDrops(reader: Reader): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(reader.drops())) if (v - (baseline?.[k] ?? 0) > 0) out[k] = v - (baseline?.[k] ?? 0);
  for (const [k, v] of Object.entries(localDrops)) if (v) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Where loss happened: after which stored item (seq, capture time), before which one. */
interface Place {
  afterSeq: string | null;
  afterCaptureNs: string | null;
  beforeSeq?: string;
}
const here = (): Place => ({ afterSeq: lastSeq === null ? null : String(lastSeq), afterCaptureNs: state.lastCaptureNs });

function writeLoss(cause: string, count: number, place: Place): void {
  ledgerTotals[cause] = (ledgerTotals[cause] ?? 0) + count;
  ledger?.line(JSON.stringify({ atNs: String(monotonicNs()), cause, count, total: ledgerTotals[cause], ...place }));
}

/** Causes whose loss can show as a gap in a frame ring's sequence numbers (written where the gap is). */
const SEQ_VISIBLE = ['overwritten', 'driver', 'disconnect', 'restart'];
/** Since when seq-visible loss has been counted but not yet met as a gap (null: none pending). */
let pendingSinceNs: bigint | null = null;

/**
 * Writes a ledger line for every cause whose count moved since the last check, at `place` (default: here).
 * In frame streams, loss that can show as a seq gap waits (up to 1 s) for the reader to reach the gap, so it
 * is written where it happened (see {@link gapBefore}); `final` writes everything left.
 */
function recordDrops(reader: Reader, note?: Record<string, unknown>, place: Place = here(), final = false): void {
  const now = currentDrops(reader);
  const nowNs = monotonicNs();
  let deferred = false;
  for (const [cause, total] of Object.entries(now)) {
    const delta = total - (ledgerTotals[cause] ?? 0);
    if (delta <= 0) continue;
    if (d.spec.kind !== 'audio' && !final && SEQ_VISIBLE.includes(cause) && (pendingSinceNs === null || nowNs - pendingSinceNs < 1_000_000_000n)) {
      pendingSinceNs ??= nowNs;
      deferred = true;
      continue;
    }
    writeLoss(cause, delta, place);
  }
  if (!deferred) pendingSinceNs = null;
  if (note) ledger?.line(JSON.stringify({ atNs: String(monotonicNs()), ...note }));
  state.drops = now;
}

/**
 * A gap in the sequence numbers right before item `seq`: one ledger entry for it, at its place — its size
 * from the seqs, its cause from the loss counters that moved. Missing seqs no counter explains are noted
 * (`note: 'gap'`) so they are visible, without being counted twice.
 */
function gapBefore(reader: Reader, seq: bigint): void {
  if (lastSeq === null || seq <= lastSeq + 1n) return;
  let n = Number(seq - lastSeq - 1n);
  const place: Place = { ...here(), beforeSeq: String(seq) };
  const now = currentDrops(reader);
  for (const cause of SEQ_VISIBLE) {
    const take = Math.min(n, (now[cause] ?? 0) - (ledgerTotals[cause] ?? 0));
    if (take <= 0) continue;
    writeLoss(cause, take, place);
    n -= take;
  }
  if (n > 0) ledger?.line(JSON.stringify({ atNs: String(monotonicNs()), note: 'gap', missing: n, ...place }));
  if (SEQ_VISIBLE.every((c) => (now[c] ?? 0) <= (ledgerTotals[c] ?? 0))) pendingSinceNs = null;
}

function seen(captureNs: bigint): void {
  if (state.firstCaptureNs === null) state.firstCaptureNs = String(captureNs);
  state.lastCaptureNs = String(captureNs);
}

/** The place after video sidecar row `index - 1` (index,seq,captureNs,…), for loss found after the fact. */
function sidecarPlace(path: string, index: number): Place {
  if (index === 0) return { afterSeq: null, afterCaptureNs: null };
  try {
    const row = readFileSync(path, 'utf8').split('\n')[index]?.split(',');
    return { afterSeq: row?.[1] ?? null, afterCaptureNs: row?.[2] ?? null };
  } catch {
    return here();
  }
}

// ---- per kind ---------------------------------------------------------------------------------------

interface Stream {
  storage: string;
  files: string[];
  /** Stores what the ring holds; true when it handed back early with items left (video under overload). */
  drain(): Promise<boolean | void> | boolean | void;
  flush(nowNs: bigint): void;
  close(): Promise<void>;
}

function videoStream(reader: RingConsumer<FrameView>, spec: VideoSpec, encoder: VideoOut | null): Stream {
  const ts = openText(d.timestamps, 'index,seq,captureNs,receiveNs,ptsUs,flags');
  const out: VideoOut | null = isMjpeg(spec) ? attempt(() => new MjpegMkvOut(d.file, spec, new Date(originWallMs), d.name)) : encoder;
  // Raw frames must match the size the encoder was set up for (a camera that came back in another mode
  // would otherwise corrupt the stream): mismatches are counted as `format` drops, never stored.
  const rawBytes = isMjpeg(spec) ? 0 : (frameBytes(spec.pixelFormat, spec.width, spec.height) ?? 0);
  const minBytes = spec.stride > 0 ? Math.max(rawBytes, spec.stride * spec.height) : rawBytes;
  let lastPts = -1;
  return {
    storage: out?.storage ?? 'none',
    files: [d.file],
    async drain() {
      // Under overload the ring never runs dry: hand back to the loop every 100 ms so progress, sidecars and
      // the ledger keep flowing (the consumer's next wait() returns at once: items are pending).
      const budgetEnd = monotonicNs() + 100_000_000n;
      let more = false;
      for (let v = reader.take(); v; v = (more = monotonicNs() > budgetEnd) ? null : reader.take()) {
        if (v.captureNs < originNs) continue; // captured before the recording began: not part of it
        if (pastStopDeadline()) {
          addLocalDrop('stopped', 1);
          continue;
        }
        gapBefore(reader, v.seq);
        if (minBytes && (v.width !== spec.width || v.height !== spec.height || v.byteLength < minBytes)) {
          addLocalDrop('format', 1);
          continue;
        }
        seen(v.captureNs);
        lastSeq = v.seq;
        // Container time = capture time since the session origin; never backwards (Matroska needs order).
        let pts = Math.round(Number(v.captureNs - originNs) / 1000);
        if (pts <= lastPts) pts = lastPts + 1;
        if (out && !state.failed) {
          try {
            await out.writeFrame(minBytes ? v.data.subarray(0, minBytes) : v.data, pts, (v.flags & ItemFlags.KEY) !== 0);
            ts?.line(`${state.items},${v.seq},${v.captureNs},${v.receiveNs},${pts},${v.flags}`);
            state.items++;
            lastPts = pts;
          } catch (e) {
            fail(e);
          }
        } else addLocalDrop('io', 1);
        state.bytes = out?.bytes ?? 0;
      }
      return more;
    },
    flush() {
      guarded(() => ts?.flush());
    },
    async close() {
      try {
        if (out) await out.close(lastPts);
      } catch (e) {
        fail(e);
      } finally {
        try {
          ts?.close();
        } catch (e) {
          fail(e);
        }
      }
      // Stored means in the file: frames the encoder never wrote (it died with them buffered) become `io` drops,
      // noted after the last frame the file does hold, and leave the sidecar.
      const stored = out?.storedFrames ?? null;
      if (stored !== null && stored < state.items) {
        const lost = state.items - stored;
        const place = sidecarPlace(d.timestamps, stored);
        state.items = stored;
        addLocalDrop('io', lost);
        recordDrops(reader, undefined, place);
        try {
          truncateLines(d.timestamps, stored + 1);
        } catch (e) {
          fail(e);
        }
      }
    },
  };
}

function audioStream(reader: RingConsumer<SampleChunkView>, spec: AudioSpec): Stream {
  const ts = openText(d.timestamps, 'seq,startFrame,frames,captureNs,receiveNs,fileFrame,flags');
  const wav = attempt(() => new WavWriter(d.file, spec, BigInt(Math.round(d.headerIntervalS * 1e9))));
  const w = () => wav;
  let nextStart: bigint | null = null;
  let nextNs: bigint | null = null;
  return {
    get storage() {
      return w()?.rf64 ? 'rf64' : 'wav';
    },
    files: [d.file],
    drain() {
      for (let c = reader.take(); c; c = reader.take()) {
        // Chunks that ended before the recording began are not part of it.
        if (c.captureNs + (BigInt(c.frames) * 1_000_000_000n) / BigInt(spec.rate) <= originNs) continue;
        seen(c.captureNs);
        lastSeq = c.seq;
        // Keep the file's timeline = the capture timeline: lost audio becomes silence of the same length.
        let fill = 0;
        if (nextStart !== null && c.startFrame > nextStart) fill = Number(c.startFrame - nextStart);
        else if (nextNs !== null && c.flags & ItemFlags.DISCONTINUITY) fill = Math.max(0, Math.round((Number(c.captureNs - nextNs) * spec.rate) / 1e9));
        if (fill > 0) {
          const capped = Math.min(fill, MAX_FILL_S * spec.rate);
          if (guarded(() => w()?.silence(capped))) recordDrops(reader, { note: 'silence', frames: capped, lostFrames: fill, beforeSeq: String(c.seq) });
        }
        const at = w()?.frames ?? 0;
        const bytes = new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength);
        if (guarded(() => w()?.write(bytes))) {
          // The writer may have lapped the chunk while we wrote it: then the file gets silence, not garbage.
          if (!c.valid()) {
            addLocalDrop('torn', c.frames);
            guarded(() => w()?.blank(at, c.frames));
          }
          ts?.line(`${c.seq},${c.startFrame},${c.frames},${c.captureNs},${c.receiveNs},${at},${c.flags}`);
          state.items++;
        } else addLocalDrop('io', c.frames);
        state.frames = w()?.frames ?? 0;
        state.bytes = w()?.fileBytes ?? 0;
        nextStart = c.startFrame + BigInt(c.frames);
        nextNs = c.captureNs + (BigInt(c.frames) * 1_000_000_000n) / BigInt(spec.rate);
      }
    },
    flush(nowNs) {
      guarded(() => ts?.flush());
      guarded(() => w()?.maybeUpdateHeader(nowNs));
    },
    async close() {
      try {
        guarded(() => ts?.close());
      } finally {
        // Even after a failure, try to leave the header describing what did get written.
        try {
          w()?.close();
        } catch (e) {
          fail(e);
        }
      }
    },
  };
}

function recordsStream(reader: RingConsumer<FrameView>, spec: RecordsSpec): Stream {
  const names = spec.fields.map((f) => f.name);
  const ts = openText(d.timestamps, 'seq,captureNs,receiveNs,flags');
  const rw = attempt(() => new RecordsWriter(d.file, d.csv, names));
  const r = () => rw;
  return {
    storage: d.csv ? 'ndjson+csv' : 'ndjson',
    files: d.csv ? [d.file, d.csv] : [d.file],
    drain() {
      for (let v = reader.take(); v; v = reader.take()) {
        if (v.captureNs < originNs) continue;
        gapBefore(reader, v.seq);
        seen(v.captureNs);
        lastSeq = v.seq;
        if (state.failed) {
          addLocalDrop('io', 1);
          continue;
        }
        const values = new Float64Array(v.data.buffer, v.data.byteOffset, names.length);
        r()?.write(v.seq, v.captureNs, v.receiveNs, values);
        ts?.line(`${v.seq},${v.captureNs},${v.receiveNs},${v.flags}`);
        state.items++;
        state.bytes = r()?.bytes ?? 0;
      }
    },
    flush() {
      guarded(() => r()?.flush());
      guarded(() => ts?.flush());
    },
    async close() {
      try {
        guarded(() => r()?.close());
      } finally {
        guarded(() => ts?.close());
      }
    },
  };
}

// ---- the loop ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // Attach first (nothing committed from here on is missed), then wait for the origin before storing.
  // Batches of up to 20 ms (files need no lower latency: ~50 wake-ups/s for 48 kHz audio instead of one per
  // period); idleMs: wake at least every 250 ms without items, so progress keeps flowing.
  const reader = new RingConsumer(d.ring, { signal: stop.signal, maxDelayMs: 20, idleMs: 250 });
  const spec = d.spec;
  // Start ffmpeg now, so it is up and encoding by the time the first frame comes.
  const encoder = spec.kind === 'video' && !isMjpeg(spec) ? attempt(() => new FfmpegOut(d.file, spec, d.name, d.video)) : null;
  post({ t: 'ready' });
  await started;
  baseline ??= reader.drops(); // stopped before it started
  ledger = openText(d.dropLedger);
  const stream =
    spec.kind === 'video'
      ? videoStream(reader as RingConsumer<FrameView>, spec, encoder)
      : spec.kind === 'audio'
        ? audioStream(reader as RingConsumer<SampleChunkView>, spec)
        : recordsStream(reader as RingConsumer<FrameView>, spec);
  post({ t: 'started', storage: stream.storage });
  let lastProgress = 0n;
  do {
    await stream.drain();
    const now = monotonicNs();
    stream.flush(now);
    recordDrops(reader);
    guarded(() => ledger?.flush());
    if (now - lastProgress >= PROGRESS_EVERY_NS) {
      lastProgress = now;
      post({ t: 'progress', progress: { ...state } });
    }
    // One wake-up per batch; false on stop, or once the ring closed (its source closed) and is drained.
  } while (await reader.wait());
  // Stop: take everything the ring still holds (past the stop deadline, only counted), then finalize the files.
  while (await stream.drain()) stream.flush(monotonicNs());
  stream.flush(monotonicNs());
  reader.close();
  await stream.close();
  recordDrops(reader, undefined, here(), true);
  try {
    ledger?.close();
  } catch (e) {
    fail(e);
  }
  const summary: SinkSummary = {
    ...state,
    drops: { ...state.drops },
    file: d.file,
    files: stream.files,
    timestamps: d.timestamps,
    dropLedger: d.dropLedger,
    storage: stream.storage,
    error: firstError,
  };
  post({ t: 'done', summary });
}

main().catch((e) => {
  post({ t: 'error', error: serializeError(e) });
  process.exitCode = 1;
});
