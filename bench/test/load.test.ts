// docs/performance.md says every benchmark prints its load average before and after its runs: each bench
// takes it from bench/load.mjs and reads it at least twice, once for each line.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAverage } from '../load.mjs';

const dir = new URL('../', import.meta.url);
const benches = readdirSync(dir).filter((f) => f.endsWith('.bench.mjs'));

describe('benchmarks print the load average', () => {
  it('formats the three averages with two decimals', () => {
    expect(loadAverage()).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d$/);
  });

  it.each(benches)('%s reads it before and after', (file) => {
    const src = readFileSync(new URL(file, dir), 'utf8');
    expect(src).toMatch(/from '\.\/load\.mjs'/);
    const reads = src.match(/\b(loadAverage|load)\(\)/g) ?? [];
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(src).toMatch(/after/);
  });
});
