import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the whole fault suite, the fast cases (*.test.ts, also in the default
// `vitest run`, i.e. CI) and the long ones (*.slow.test.ts, excluded from the default config).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/faults/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The cases start servers, brokers and processes and time recoveries: one file at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
