/**
 * The MCAP sink's worker: attaches a reader to every stream's ring (the main thread is never in the data
 * path), sleeps on the rings' NOTIFY words, and writes each item as one MCAP message — log time = capture
 * time, publish time = receive time, sequence = seq — plus drop ledger and event messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  monotonicNs,
  RingConsumer,
  type FrameView,
  type SampleChunkView,
  serializeError,
  type SerializedError,
  type StreamSpec,
} from '@senseflow/core';
import { McapFile } from './file-writer.js';
import type { FromMcapWorker, McapStreamProgress, McapSummary, McapWorkerData, ToMcapWorker } from './protocol.js';
import { channelsFor, jsonMessage, MessageEncoder } from './schemas.js';

const d = workerData as McapWorkerData;
const port = parentPort!;
const post = (m: FromMcapWorker) => port.postMessage(m);
const PROGRESS_EVERY_NS = 250_000_000n;
/** Most items taken from one ring per turn, so one busy stream cannot hold back the others' chunks. */
const BATCH = 256;
/** How long the worker sleeps between batches once every ring is drained. */
const BATCH_MS = 20;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Pending {
  /** The stream a data message belongs to (null for drop and event messages). */
  stream: StreamState | null;
  /** What is lost if it cannot be stored: 1 item, or an audio chunk's frames. */
  units: number;
  channel: number;
  seq: number;
  logTime: bigint;
  publishTime: bigint;
  data: Uint8Array;
}

interface StreamState {
  name: string;
  spec: StreamSpec;
  reader: RingConsumer;
  encoder: MessageEncoder;
  ch: { data: number; drops: number; events: number };
  p: McapStreamProgress;
  baseline: Record<string, number>;
  ledgerTotals: Record<string, number>;
  local: Record<string, number>;
  lastSeq: bigint | null;
}

let originNs = 0n;
let stopping = false;
let wake!: () => void;
let woken = new Promise<void>((r) => (wake = r));
let startRequested!: (m: Record<string, string>) => void;
const started = new Promise<Record<string, string>>((r) => (startRequested = r));
let baselines: Record<string, Record<string, number>> | null = null;
let finishRequested!: (m: Record<string, string> | null) => void;
const finished = new Promise<Record<string, string> | null>((r) => (finishRequested = r));
const events: { stream: string; event: Record<string, unknown> }[] = [];
let failed = false;
let firstError: SerializedError | null = null;

port.on('message', (m: ToMcapWorker) => {
  if (m.t === 'start') {
    originNs = BigInt(m.originNs);
    baselines = m.baselines;
    startRequested(m.metadata);
  } else if (m.t === 'event') {
    events.push({ stream: m.stream, event: m.event });
    wake();
  } else if (m.t === 'stop') {
    stopping = true;
    startRequested({});
    wake();
  } else if (m.t === 'finish') finishRequested(m.metadata);
});

function fail(e: unknown): void {
  if (failed) return;
  failed = true;
  firstError = serializeError(e);
  post({ t: 'error', error: firstError });
}

function drops(s: StreamState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.reader.drops())) if (v - (s.baseline[k] ?? 0) > 0) out[k] = v - (s.baseline[k] ?? 0);
  for (const [k, v] of Object.entries(s.local)) if (v) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** A drop message for every cause whose count moved since the last one. */
function ledger(s: StreamState, out: Pending[]): void {
  const now = drops(s);
  const at = monotonicNs();
  for (const [cause, total] of Object.entries(now)) {
    const count = total - (s.ledgerTotals[cause] ?? 0);
    if (count > 0)
      out.push({
        stream: null,
        units: 0,
        channel: s.ch.drops,
        seq: 0,
        logTime: at,
        publishTime: at,
        data: jsonMessage({ atNs: String(at), cause, count, total, afterSeq: s.lastSeq === null ? null : String(s.lastSeq) }),
      });
  }
  s.ledgerTotals = now;
  s.p.drops = now;
}

function seen(s: StreamState, seq: bigint, captureNs: bigint): void {
  if (s.p.firstCaptureNs === null) s.p.firstCaptureNs = String(captureNs);
  s.p.lastCaptureNs = String(captureNs);
  s.lastSeq = seq;
}

/** Encodes up to BATCH new items of one stream into `out`; returns whether more are waiting. */
function take(s: StreamState, out: Pending[]): boolean {
  const r = s.reader;
  for (let n = 0; n < BATCH; n++) {
    if (r.kind === 'frame') {
      const v = r.take() as FrameView | null;
      if (!v) return false;
      if (v.captureNs < originNs) continue; // captured before the recording began: not part of it
      let data: Uint8Array;
      if (s.spec.kind === 'video') data = s.encoder.video(v.data, v.captureNs, v.width, v.height, v.stride);
      else {
        const nf = (s.spec as Extract<StreamSpec, { kind: 'records' }>).fields.length;
        data = s.encoder.record(new Float64Array(v.data.buffer, v.data.byteOffset, nf), v.seq, v.captureNs);
      }
      seen(s, v.seq, v.captureNs);
      out.push({ stream: s, units: 1, channel: s.ch.data, seq: Number(v.seq), logTime: v.captureNs, publishTime: v.receiveNs, data });
    } else {
      const c = r.take() as SampleChunkView | null;
      if (!c) return false;
      const spec = s.spec as Extract<StreamSpec, { kind: 'audio' }>;
      if (c.captureNs + (BigInt(c.frames) * 1_000_000_000n) / BigInt(spec.rate) <= originNs) continue;
      const data = s.encoder.audio(c.data, c.captureNs);
      // The writer may have lapped the chunk while we encoded it: then it is lost (counted), never stored torn.
      if (!c.valid()) {
        s.local.torn = (s.local.torn ?? 0) + c.frames;
        continue;
      }
      seen(s, c.seq, c.captureNs);
      out.push({ stream: s, units: c.frames, channel: s.ch.data, seq: Number(c.seq), logTime: c.captureNs, publishTime: c.receiveNs, data });
    }
  }
  return true;
}

async function write(file: McapFile | null, out: Pending[]): Promise<void> {
  for (let i = 0; i < out.length; i++) {
    const m = out[i];
    const s = m.stream;
    if (failed || !file) {
      if (s) s.local.io = (s.local.io ?? 0) + m.units;
      continue;
    }
    try {
      await file.add(m.channel, m.seq, m.logTime, m.publishTime, m.data, i === out.length - 1);
      if (s) {
        s.p.items++;
        if (s.spec.kind === 'audio') s.p.frames += m.units;
        s.p.bytes += m.data.byteLength;
      }
    } catch (e) {
      fail(e);
    }
  }
}

function summary(file: McapFile | null, streams: StreamState[], complete: boolean): McapSummary {
  return {
    file: d.file,
    bytes: file?.bytes ?? 0,
    streams: Object.fromEntries(streams.map((s) => [s.name, { ...s.p, drops: { ...s.p.drops }, failed }])),
    complete,
    error: firstError,
  };
}

async function main(): Promise<void> {
  // Attach first (nothing committed from here on is missed), then wait for the origin before storing.
  const streams: StreamState[] = d.streams.map(({ name, ring, spec }) => ({
    name,
    spec,
    reader: new RingConsumer(ring),
    encoder: new MessageEncoder(name, spec),
    ch: { data: 0, drops: 0, events: 0 },
    p: { items: 0, frames: 0, bytes: 0, drops: {}, firstCaptureNs: null, lastCaptureNs: null, failed: false, failedAtNs: null, topic: `/${name}`, schema: '' },
    baseline: {},
    ledgerTotals: {},
    local: {},
    lastSeq: null,
  }));
  let file: McapFile | null = null;
  try {
    file = await McapFile.create(d.file, d.options);
    for (const s of streams) {
      const [data, dropsCh, eventsCh] = channelsFor(s.name, s.spec);
      s.p.schema = data.schemaName;
      s.ch = { data: await file.addChannel(data), drops: await file.addChannel(dropsCh), events: await file.addChannel(eventsCh) };
    }
  } catch (e) {
    fail(e);
  }
  post({ t: 'ready' });
  const startMeta = await started;
  for (const s of streams) s.baseline = baselines?.[s.name] ?? s.reader.drops(); // none: stopped before it started
  if (file && !failed && Object.keys(startMeta).length) await file.metadata('senseflow.session', startMeta).catch(fail);
  let lastProgress = 0n;
  for (;;) {
    const out: Pending[] = [];
    let more = false;
    for (const s of streams) more = take(s, out) || more;
    for (const ev of events.splice(0)) {
      const s = streams.find((x) => x.name === ev.stream);
      if (!s) continue;
      const at = BigInt(String(ev.event.atNs ?? monotonicNs()));
      out.push({ stream: null, units: 0, channel: s.ch.events, seq: 0, logTime: at, publishTime: monotonicNs(), data: jsonMessage(ev.event) });
    }
    for (const s of streams) ledger(s, out);
    await write(file, out);
    const now = monotonicNs();
    if (now - lastProgress >= PROGRESS_EVERY_NS) {
      lastProgress = now;
      post({ t: 'progress', summary: summary(file, streams, false) });
    }
    if (stopping && !more) break;
    if (more) continue;
    // One wake-up per batch for every ring (a file needs no lower latency; chunks close on time), or at once
    // for an event or a stop.
    await Promise.race([sleep(BATCH_MS), woken]);
    woken = new Promise<void>((r) => (wake = r));
  }
  // Stop: everything the rings still hold was taken above; report, then wait for the final metadata.
  for (const s of streams) s.reader.close();
  post({ t: 'stopped', summary: summary(file, streams, false) });
  const endMeta = await finished;
  let complete = false;
  if (file) {
    try {
      if (!failed) {
        if (endMeta) await file.metadata('senseflow.session', endMeta);
        await file.end();
        complete = true;
      } else file.abandon();
    } catch (e) {
      fail(e);
      file.abandon();
    }
  }
  post({ t: 'done', summary: summary(file, streams, complete) });
}

main().catch((e) => {
  post({ t: 'error', error: serializeError(e) });
  process.exitCode = 1;
});
