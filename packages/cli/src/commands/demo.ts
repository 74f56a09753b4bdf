/**
 * `senseflow demo`: ~5 s from the real camera, microphone and system stats when present — otherwise from
 * the test pattern and tone (plus real stats) — saying plainly which and why, then a summary.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioSource, VideoSource } from '@senseflow/core';
import { parseFlags, positiveNumber } from '../args.js';
import { errorLine } from '../format.js';
import { firstItem, openAudio, openStats, openVideo, type Opened } from '../inputs.js';
import type { Out } from '../progress.js';
import { printSummary, runSession, type SessionStream } from '../session.js';
import { prepareDir, stamp } from './record.js';

export const DEMO_HELP = `senseflow demo [--duration S] [--out DIR] [--test] [--json]

Records about 5 seconds from the first camera, the default microphone and system stats, into a new
session directory with merged.mp4, and prints what it did. Without a camera or a working microphone
it uses the test pattern and the test tone instead, and says why.

  --duration S   seconds to record (default 5)
  --out DIR      session directory (default: ./senseflow-demo-YYYYMMDD-HHMMSS)
  --test         use the test pattern and tone even if real devices exist
  --json         print session.json instead of the summary
`;

function videoNodes(): string[] {
  try {
    return readdirSync('/dev')
      .filter((n) => /^video\d+$/.test(n))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
      .map((n) => `/dev/${n}`);
  } catch {
    return [];
  }
}

/** Starts a source and waits for its first item, closing it on failure. */
async function live<S extends VideoSource | AudioSource>(open: () => Promise<Opened<S>>, waitMs: number): Promise<Opened<S>> {
  const x = await open();
  try {
    await x.source.start();
    await firstItem(x.source, waitMs);
    return x;
  } catch (e) {
    await x.source.close({ force: true }).catch(() => {});
    throw e;
  }
}

async function pickVideo(o: Out, forceTest: boolean): Promise<Opened<VideoSource>> {
  let why = 'asked for test sources (--test)';
  if (!forceTest) {
    const nodes = videoNodes();
    if (nodes.length === 0) why = 'no /dev/video* found';
    else {
      const failures: string[] = [];
      for (const dev of nodes) {
        // 640x480@30 first; if the camera cannot do that, whatever it does by default.
        for (const mode of [{ width: 640, height: 480, fps: 30 }, {}]) {
          try {
            const x = await live(() => openVideo({ input: dev, ...mode }), 3000);
            o.err(`video: camera ${dev} — ${x.device}\n`);
            return x;
          } catch (e) {
            const code = (e as { code?: string }).code;
            failures.push(`${dev}: ${errorLine(e)}`);
            if (code !== 'EUNSUPPORTED' && code !== 'EINVAL') break; // only a mode problem is worth a second try
          }
        }
      }
      why = `no camera delivered frames (${failures.join('; ')})`;
    }
  }
  const x = await live(() => openVideo({ input: 'test', width: 640, height: 480, fps: 30 }), 5000);
  o.err(`video: test pattern, because ${why}\n`);
  return x;
}

async function pickAudio(o: Out, forceTest: boolean): Promise<Opened<AudioSource>> {
  let why = 'asked for test sources (--test)';
  if (!forceTest) {
    try {
      const x = await live(() => openAudio({ input: 'default' }), 2000);
      o.err(`audio: ALSA default capture — ${x.device}\n`);
      return x;
    } catch (e) {
      why = `ALSA default capture failed: ${errorLine(e)}`;
    }
  }
  const x = await live(() => openAudio({ input: 'test' }), 5000);
  o.err(`audio: test tone, because ${why}\n`);
  return x;
}

export async function demoCommand(o: Out, argv: string[]): Promise<number> {
  const v = parseFlags('demo', argv, {
    duration: { type: 'string' },
    out: { type: 'string' },
    test: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }).values as { duration?: string; out?: string; test?: boolean; json?: boolean; help?: boolean };
  if (v.help) {
    o.out(DEMO_HELP);
    return 0;
  }
  const duration = positiveNumber('--duration', v.duration, 3600) ?? 5;
  let dir = v.out ?? `senseflow-demo-${stamp()}`;
  let unprepare: () => void;
  try {
    unprepare = prepareDir(dir);
  } catch (e) {
    if (v.out) throw e;
    // The current directory is not writable: the demo still runs, in the temp directory.
    const fallback = join(tmpdir(), dir);
    o.err(`note: cannot write here (${errorLine(e)}); using ${fallback}\n`);
    dir = fallback;
    unprepare = prepareDir(dir);
  }
  const streams: SessionStream[] = [];
  try {
    streams.push({ name: 'video', ...(await pickVideo(o, !!v.test)) });
    streams.push({ name: 'audio', ...(await pickAudio(o, !!v.test)) });
    try {
      streams.push({ name: 'stats', ...(await openStats(10)) });
      o.err(`stats: ${streams[2].device}\n`);
    } catch (e) {
      o.err(`stats: skipped — ${errorLine(e)}\n`);
    }
  } catch (e) {
    await Promise.allSettled(streams.map((s) => s.source.close({ force: true })));
    unprepare();
    throw e;
  }
  o.err(`recording ${duration} s into ${dir}/ …\n`);
  const r = await runSession(o, dir, streams, duration, true);
  if (v.json) o.out(JSON.stringify(r.manifest, null, 2) + '\n');
  else {
    printSummary(o, r);
    if (r.merged) o.out(`Play it: ffplay ${join(dir, r.merged.file)}\n`);
  }
  return r.ioErrors.length ? 5 : 0;
}
