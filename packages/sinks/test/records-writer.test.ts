import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordsWriter } from '../src/file/records-writer.js';

// docs/sysstats.md: an unlimited cgroup.mem.limit is `Infinity` — in the NDJSON and the CSV alike.
describe('RecordsWriter: non-finite values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-records-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes ±Infinity as Infinity / -Infinity and NaN as missing, in NDJSON and CSV', () => {
    const w = new RecordsWriter(join(dir, 'r.ndjson'), join(dir, 'r.csv'), ['cgroup.mem.limit', 'low', 'gone', 'x']);
    w.write(1n, 10n, 11n, new Float64Array([Infinity, -Infinity, NaN, 1.5]));
    w.close();
    const row = JSON.parse(readFileSync(join(dir, 'r.ndjson'), 'utf8').trim());
    expect(row).toEqual({ seq: 1, captureNs: '10', receiveNs: '11', 'cgroup.mem.limit': 'Infinity', low: '-Infinity', gone: null, x: 1.5 });
    // Number() reads both encodings back.
    expect(Number(row['cgroup.mem.limit'])).toBe(Infinity);
    const [header, line] = readFileSync(join(dir, 'r.csv'), 'utf8').trim().split('\n');
    expect(header).toBe('seq,captureNs,receiveNs,cgroup.mem.limit,low,gone,x');
    expect(line).toBe('1,10,11,Infinity,-Infinity,,1.5');
  });
});
