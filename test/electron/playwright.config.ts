import { defineConfig } from '@playwright/test';

// The Electron host end to end (`npm run test:e2e:electron`): needs the Electron binary and a
// display. Where either is missing the spec skips and prints why (see electron.spec.ts).
export default defineConfig({
  testDir: '.',
  testMatch: 'electron.spec.ts',
  timeout: 120_000,
  workers: 1,
  reporter: [['list'], ['json', { outputFile: '../../artifacts/test-results/playwright-electron.json' }]],
  outputDir: '../../artifacts/playwright-electron',
});
