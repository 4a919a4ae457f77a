import { defineConfig } from 'vitest/config';

// `npm run test:boot` / `npm run test:boot:smoke` (the end of `npm test`): the panel image booted in QEMU (TCG). Files are
// *.boot.ts so the default `vitest run` (which takes test/**/*.test.ts) never boots anything.
// One file at a time, one machine at a time: each boot takes minutes of a shared CPU.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/boot/**/*.boot.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 45 * 60_000,
    hookTimeout: 45 * 60_000,
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { concurrent: false },
    // The JSON report joins the one-line total that closes `npm test` (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'artifacts/test-results/vitest-boot.json' }]],
  },
});
