/**
 * Runs one recording for `record` and `demo`: starts the sinks, then the sources, shows progress, stops
 * on --duration or Ctrl-C (a second Ctrl-C aborts), finalizes, optionally merges, and reports.
 */
import { basename, resolve } from 'node:path';
import type { Source } from '@senseflow/core';
import { merge, readManifest, record, type ManifestEvent, type RecordFormat, type MergedInfo, type SessionManifest, type VideoEncodeOptions } from '@senseflow/sinks';
import { ExitCode } from './exit-codes.js';
import { bytes, dropsText, errorLine } from './format.js';
import { ProgressLine, progressText, type Out } from './progress.js';

export interface SessionStream {
  name: string;
  source: Source;
  device: string;
}

export interface SessionResult {
  dir: string;
  manifest: SessionManifest;
  merged: MergedInfo | null;
  mergeError: string | null;
  interrupted: boolean;
  ioErrors: string[];
}

/** How long a source may take to stop before its worker is closed, and how long sinks keep storing after. */
const STOP_SOURCE_MS = 300;
const STOP_SINK_MS = 300;

/** Stops a source, or closes it (ending its worker) if it does not stop in time. */
async function stopWithin(source: Source, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const r = await Promise.race([source.stop().then(() => 'ok' as const), late]).catch(() => 'late' as const);
  clearTimeout(timer);
  if (r === 'late') await source.close().catch(() => {});
}

/** One line for a source event: "source crashed: … (restarting)", "source restarted (attempt 2)". */
export function sourceEventText(ev: ManifestEvent): string {
  const err = ev.error as { message?: string } | undefined;
  const extra = Object.entries(ev)
    .filter(([k]) => !['type', 'atNs', 'error', 'reason', 'restarting'].includes(k))
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  const parts = [`source ${ev.type}`];
  if (typeof ev.reason === 'string') parts.push(`: ${ev.reason}`);
  if (err?.message) parts.push(`: ${err.message}`);
  if (ev.restarting === true) parts.push(' (restarting)');
  else if (ev.restarting === false) parts.push(' (not restarting)');
  if (extra.length) parts.push(` [${extra.join(', ')}]`);
  return parts.join('');
}

export async function runSession(
  o: Out,
  dir: string,
  streams: SessionStream[],
  durationS: number | undefined,
  wantMerge: boolean,
  video?: VideoEncodeOptions,
  overwrite = false,
  format?: RecordFormat[],
): Promise<SessionResult> {
  const byName = Object.fromEntries(streams.map((s) => [s.name, s.source]));
  const kinds = Object.fromEntries(streams.map((s) => [s.name, s.source.spec.kind]));
  const rates = Object.fromEntries(streams.map((s) => [s.name, s.source.spec.kind === 'audio' ? s.source.spec.rate : 0]));
  const ioErrors: string[] = [];
  const line = new ProgressLine(o);
  // Listen for Ctrl-C / SIGTERM before the sinks open (ffmpeg can take a while to start on a busy machine):
  // a stop asked for during setup still finalizes.
  let interrupted = false;
  let stopNow!: () => void;
  const stopSignal = new Promise<void>((r) => (stopNow = r));
  const onSigint = () => {
    if (interrupted) {
      line.done();
      o.err('aborted: second Ctrl-C, files are left as they are (still readable)\n');
      process.exit(ExitCode.interrupted);
    }
    interrupted = true;
    line.done();
    o.err('stopping… (Ctrl-C again to abort)\n');
    stopNow();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let rec: Awaited<ReturnType<typeof record>>;
  try {
    rec = await record({ dir, overwrite, streams: byName, video, devices: Object.fromEntries(streams.map((s) => [s.name, s.device])), format });
  } catch (e) {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    throw e;
  }
  rec.events$.subscribe((ev) => {
    line.done();
    if (ev.type === 'error') {
      const msg = `${ev.stream}: ${errorLine(ev.error)} — ${ev.stream === 'session' ? 'recording goes on' : 'this stream stores nothing more (counted as drops.io); the others go on'}`;
      ioErrors.push(msg);
      o.err(`error: ${msg}\n`);
    } else o.err(`${ev.stream}: ${sourceEventText(ev.event)}\n`);
  });
  try {
    await Promise.all(streams.map((s) => s.source.start()));
    const timer = setInterval(() => line.update(progressText(rec.progress(), kinds, rates)), o.tty ? 200 : 250);
    await Promise.race([stopSignal, durationS ? new Promise((r) => setTimeout(r, durationS * 1000)) : new Promise(() => {})]);
    clearInterval(timer);
    line.update(progressText(rec.progress(), kinds, rates), true);
    line.done();
    // Sources first (no new items), then the sinks store what is left and finalize — each step bounded,
    // so a stop takes well under a second at any rate (what a sink could not store by then is counted).
    await Promise.allSettled(streams.map((s) => stopWithin(s.source, STOP_SOURCE_MS)));
    let manifest = await rec.stop({ timeoutMs: STOP_SINK_MS });
    let merged: MergedInfo | null = null;
    let mergeError: string | null = null;
    const hasAv = manifest.streams.some((s) => s.kind === 'video' && s.items > 0) && manifest.streams.some((s) => s.kind === 'audio' && s.items > 0);
    if (wantMerge && hasAv) {
      try {
        merged = await merge(dir, {
          onProgress: (p) => line.update(`merging video + audio… ${Math.round(p.fraction * 100)}%`),
        });
        line.done();
        manifest = readManifest(dir); // now with `merged`
      } catch (e) {
        line.done();
        mergeError = errorLine(e);
      }
    } else if (wantMerge) mergeError = 'needs both a video and an audio stream with data';
    return { dir, manifest, merged, mergeError, interrupted, ioErrors };
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await Promise.allSettled(streams.map((s) => s.source.close()));
  }
}

/** ", source events: crashed 1, restarted 1" (nothing when there were none). */
function eventsText(events: ManifestEvent[] | undefined): string {
  if (!events?.length) return '';
  const n = new Map<string, number>();
  for (const e of events) n.set(e.type, (n.get(e.type) ?? 0) + 1);
  return `, source events: ${[...n].map(([k, v]) => `${k} ${v}`).join(', ')}`;
}

/** "Where everything went": one line per stream, then the session files. */
export function printSummary(o: Out, r: SessionResult): void {
  const m = r.manifest;
  const dur = Math.max(
    0,
    ...m.streams.map((s) => (s.firstCaptureNs && s.lastCaptureNs ? Number(BigInt(s.lastCaptureNs) - BigInt(s.firstCaptureNs)) / 1e9 : 0)),
  );
  const dir = resolve(r.dir);
  o.out(`Recorded ${dur.toFixed(1)} s into ${dir}/\n`);
  for (const s of m.streams) {
    let what: string;
    if (s.kind === 'video') {
      const span = s.firstCaptureNs && s.lastCaptureNs ? Number(BigInt(s.lastCaptureNs) - BigInt(s.firstCaptureNs)) / 1e9 : 0;
      const fps = span > 0 && s.items > 1 ? ` (${((s.items - 1) / span).toFixed(1)} fps)` : '';
      what = `${s.items} frames${fps}, ${s.storage === 'mjpeg-passthrough' ? 'MJPEG as captured' : s.storage.replace('ffmpeg:', 'encoded with ')}`;
    } else if (s.kind === 'audio') {
      const rate = s.spec.kind === 'audio' ? s.spec.rate : 1;
      what = `${((s.frames ?? 0) / rate).toFixed(2)} s of audio, ${s.spec.kind === 'audio' ? `${s.spec.rate} Hz ${s.spec.channels} ch ${s.spec.format}` : ''}`;
    } else {
      what = `${s.items} records of ${s.spec.kind === 'records' ? s.spec.fields.length : 0} fields`;
    }
    o.out(`  ${s.name.padEnd(6)} ${s.device}\n`);
    o.out(`         → ${s.files.join(' + ')}  ${what}, ${bytes(s.bytes)}, drops: ${dropsText(s.drops)}${eventsText(s.events)}${s.error ? `, ERROR: ${s.error.message}` : ''}\n`);
  }
  if (!m.complete && m.reason) o.out(`  incomplete: ${m.reason}\n`);
  if (r.merged) o.out(`  merged → ${r.merged.file}  (video + audio aligned by capture time)\n`);
  if (m.mcap) o.out(`  mcap   → ${m.mcap.file}  ${Object.values(m.mcap.streams).reduce((n, x) => n + x.messages, 0)} messages, ${bytes(m.mcap.bytes)}${m.mcap.complete ? '' : ', NOT finalized'}${m.mcap.error ? `, ERROR: ${m.mcap.error.message}` : ''}\n`);
  if (r.mergeError) o.out(`  merged: not made — ${r.mergeError}\n`);
  o.out(`  timestamps → ${m.streams.map((s) => s.timestamps).join(', ')}\n`);
  o.out(`  drop ledgers → ${m.streams.map((s) => s.dropLedger).join(', ')}\n`);
  o.out(`  manifest → ${basename(dir)}/session.json\n`);
}
