// Closes `npm test` with one line that totals every runner of this run (vitest, Playwright
// in Chromium, the Electron end-to-end spec, the QEMU smoke boot), e.g. `tests: 462 passed, 0 failed, 5 skipped`,
// so a reader (or CI) sees the whole count at the end rather than the last runner's.
// The reports are removed at the start of `npm test` (pretest), so none is from an old run.
import { readFileSync, existsSync } from 'node:fs';

const dir = 'artifacts/test-results';
let passed = 0;
let failed = 0;
let skipped = 0;
const parts = [];

for (const name of ['vitest', 'vitest-boot']) {
  const file = `${dir}/${name}.json`;
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  parts.push(`${name === 'vitest' ? 'vitest' : 'QEMU boot'} ${r.numPassedTests}/${r.numTotalTests}`);
}
for (const name of ['playwright', 'playwright-electron']) {
  const file = `${dir}/${name}.json`;
  if (!existsSync(file)) continue;
  const { stats } = JSON.parse(readFileSync(file, 'utf8'));
  passed += stats.expected + stats.flaky;
  failed += stats.unexpected;
  skipped += stats.skipped;
  parts.push(`${name} ${stats.expected + stats.flaky}/${stats.expected + stats.flaky + stats.unexpected + stats.skipped}`);
}
if (parts.length === 0) {
  console.error('test summary: no test report found in artifacts/test-results');
  process.exit(1);
}
console.log(`(${parts.join(', ')})`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
