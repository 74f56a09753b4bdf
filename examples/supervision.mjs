// Supervision: a plugin that hangs once and fails once is found, restarted on the same ring, and every
// item it lost is counted — expected = received + counted (± 1 per restart).
//   node examples/supervision.mjs
import { openSource } from '@senseflow/core';

const hz = 100;
const src = await openSource(new URL('./flaky-sensor.mjs', import.meta.url), { hz, hangAt: 100, failAt: 300 }, { restartDelayMs: 100 });
const t0 = performance.now();
src.events$.subscribe((e) => {
  const at = `${((performance.now() - t0) / 1000).toFixed(2)} s`;
  if (e.type === 'crashed') console.log(`${at}  crashed (${e.reason}): ${e.error.message}${e.restarting ? ' — restarting' : ''}`);
  else if (e.type === 'restarted') console.log(`${at}  restarted (attempt ${e.attempt})`);
  else if (e.type === 'resumed') console.log(`${at}  resumed: ${e.lost} records lost in the gap`);
  else if (e.type === 'failed') console.log(`${at}  failed for good: ${e.error.message}`);
});
let received = 0;
let first = null;
let last = null;
src.frames$.subscribe((r) => {
  received++;
  first ??= r.captureNs;
  last = r.captureNs;
});
// Run until both faults are behind us and the stream has gone on a while.
while (src.latest() === null || src.latest().seq < 400n) await new Promise((r) => setTimeout(r, 100));
await src.stop();
const d = src.drops();
// overwritten: records this process's subscriber fell too far behind to get (a loaded machine) — lost too.
const counted = d.restart + d.driver + d.ringFull + d.overwritten;
const expected = Math.round((Number(last - first) * hz) / 1e9) + 1;
console.log(`state: ${src.state}`);
console.log(`expected ${expected} records, received ${received}, counted lost ${counted} (restart ${d.restart}, missed ticks ${d.driver}, overwritten ${d.overwritten})`);
await src.close();
