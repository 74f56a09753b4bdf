// Sums the vitest JSON reports of the tiers that ran into one closing line: "senseflow: N passed, N failed, N skipped".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0, missing = [];
for (const tier of process.argv.slice(2)) {
  const file = `test-artifacts/vitest-${tier}.json`;
  if (!existsSync(file)) { missing.push(tier); continue; }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  // A file that fails to load has no failed test but fails the run: count it once.
  failed += r.numFailedTests || (r.success ? 0 : 1);
  skipped += r.numPendingTests + r.numTodoTests;
}
if (missing.length) console.log(`tiers without a report (they failed to run): ${missing.join(', ')}`);
console.log(`senseflow: ${passed} passed, ${failed + missing.length} failed, ${skipped} skipped`);
process.exit(failed + missing.length > 0 || passed === 0 ? 1 : 0);
