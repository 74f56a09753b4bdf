/**
 * `senseflow repair DIR`: fixes a session directory left by a crash (see `repair()` in @senseflow/sinks)
 * and says, per stream, what it recovered and what is lost.
 */
import { repair } from '@senseflow/sinks';
import { parseFlags } from '../args.js';
import { UsageError } from '../exit-codes.js';
import type { Out } from '../progress.js';

export const REPAIR_HELP = `senseflow repair DIR [--json]

Repairs a session directory left by a crash (kill -9, power loss, a full disk): cuts torn last lines,
fixes the WAV/RF64 header to the samples on disk, finalizes video.mkv (cut after the last complete frame,
duration filled in), trims sidecars to what the files hold, and rebuilds session.json. Prints what was
recovered and what is lost. Refuses a directory that a running recorder holds.

  --json   print the rebuilt session.json instead of the report
`;

export async function repairCommand(o: Out, argv: string[]): Promise<number> {
  const dirs = argv.filter((a) => !a.startsWith('-'));
  const v = parseFlags('repair', argv.filter((a) => a.startsWith('-')), { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }).values;
  if (v.help) {
    o.out(REPAIR_HELP);
    return 0;
  }
  if (dirs.length !== 1) throw new UsageError('repair needs one session directory', 'e.g. senseflow repair senseflow-20260101-120000');
  const r = repair(dirs[0]);
  if (v.json) {
    o.out(JSON.stringify(r.manifest, null, 2) + '\n');
    return 0;
  }
  o.out(r.clean ? `${dirs[0]}: nothing needed fixing; session.json rebuilt\n` : `Repaired ${dirs[0]}/\n`);
  for (const s of r.streams) {
    o.out(`  ${s.name.padEnd(6)} recovered ${s.recovered}\n`);
    for (const f of s.fixed) o.out(`         fixed: ${f}\n`);
    for (const l of s.lost) o.out(`         lost: ${l}\n`);
  }
  o.out(`  manifest → session.json (complete: ${r.manifest.complete})\n`);
  return 0;
}
