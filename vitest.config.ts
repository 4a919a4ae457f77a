import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code as *.test.ts; integration and end-to-end tests that start
// real servers live under test/. Browser tests (Playwright) are *.spec.ts, run separately.
export default defineConfig({
  test: {
    include: [
      'contract/**/*.test.ts',
      'node-support/**/*.test.ts',
      'src-main/**/*.test.ts',
      'server-stub/**/*.test.ts',
      'provisioning/**/*.test.ts',
      'src-renderer/**/*.test.ts',
      'backoffice/**/*.test.ts',
      'test/**/*.test.ts',
      'buildroot/**/*.test.ts',
      'tools/**/*.test.ts',
      'image/**/*.test.ts',
    ],
    // *.slow.test.ts: long fault-injection runs, `npm run test:faults` (test/faults/vitest.config.ts).
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.slow.test.ts'],
    // One directory per run for builds several test files share (test/harness/build-once.ts).
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // 2-core CI machines: keep parallelism modest so servers and brokers are not starved.
    maxWorkers: 2,
    // The JSON report feeds the one-line total that closes `npm test` (scripts/test-summary.mjs).
    reporters: ['default', 'json'],
    outputFile: { json: 'artifacts/test-results/vitest.json' },
  },
});
