// Generates the table of option limits in docs/cli.md from the tables the source packages export (the same
// ones the sources validate against and the CLI checks its flags against), so the three never disagree.
//   node scripts/limits-table.mjs           rewrite the table between the markers in docs/cli.md
//   node scripts/limits-table.mjs --print   print it
import { readFileSync, writeFileSync } from 'node:fs';
import { AUDIO_LIMITS } from '../packages/source-audio/dist/limits.js';
import { SYSSTATS_LIMITS } from '../packages/source-sysstats/dist/limits.js';
import { VIDEO_LIMITS } from '../packages/source-video/dist/limits.js';

const rows = [
  ['--size (width)', 'width', 'source-video', VIDEO_LIMITS.width],
  ['--size (height)', 'height', 'source-video', VIDEO_LIMITS.height],
  ['--fps', 'fps', 'source-video', VIDEO_LIMITS.fps],
  ['--rate', 'rate', 'source-audio', AUDIO_LIMITS.rate],
  ['--channels', 'channels', 'source-audio', AUDIO_LIMITS.channels],
  ['--stats-hz', 'hz', 'source-sysstats', SYSSTATS_LIMITS.hz],
];
const table = [
  '| flag | library option | min | max | unit | from |',
  '|---|---|---|---|---|---|',
  ...rows.map(([flag, opt, pkg, l]) => `| \`${flag}\` | \`${opt}\` | ${l.min} | ${l.max} | ${l.unit || '–'} | \`@senseflow/${pkg}/limits\` |`),
].join('\n');

if (process.argv.includes('--print')) process.stdout.write(table + '\n');
else {
  const path = new URL('../docs/cli.md', import.meta.url);
  const doc = readFileSync(path, 'utf8');
  const re = /(<!-- limits:begin[^>]*-->\n)(?:[\s\S]*?\n)?(<!-- limits:end -->)/;
  if (!re.test(doc)) throw new Error('docs/cli.md has no <!-- limits:begin --> … <!-- limits:end --> markers');
  writeFileSync(path, doc.replace(re, `$1${table}\n$2`));
}
