import { RingConsumer } from '@senseflow/core';
import { openSysStats } from '@senseflow/source-sysstats';
const d = Number(process.argv[2] ?? 4);
const src = await openSysStats({ hz: 1000 });
let n = 0;
if (process.argv[3] === 'frames') src.frames$.subscribe(() => n++);
else { const c = new RingConsumer(src.ring, { maxDelayMs: d }); (async () => { while (await c.wait()) for (let v = c.take(); v; v = c.take()) n++; })(); }
await new Promise((r) => setTimeout(r, 12000));
console.log(n); await src.close(); process.exit(0);
