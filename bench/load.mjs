// The load average as every benchmark prints it, before and after its runs: a figure is quoted with the
// load it was measured under (the shared 2-core VM moves absolute numbers by ±50 %).
import { loadavg } from 'node:os';

/** "1-min 5-min 15-min", two decimals each. */
export const loadAverage = () => loadavg().map((x) => x.toFixed(2)).join(' ');
