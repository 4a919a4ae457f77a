import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the whole fault suite at its long length: the cases that take
// parameters (panel-kill, corrupt-files) run their long ones (AIRPANEL_RUN_LENGTH=long, see
// test/harness/run-length.ts; the default `vitest run`, i.e. CI, runs the short ones), and the
// long-only cases (*.slow.test.ts, excluded from the default config) run too.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/faults/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    env: { AIRPANEL_RUN_LENGTH: 'long' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The cases start servers, brokers and processes and time recoveries: one file at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
