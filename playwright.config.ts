import { defineConfig } from '@playwright/test';

// Playwright drives Debian's Chromium: the bundled browser cannot be downloaded here.
export default defineConfig({
  testDir: './test/browser',
  testMatch: '**/*.spec.ts',
  timeout: 60_000,
  workers: 1,
  // The JSON report feeds the one-line total that closes `npm test` (scripts/test-summary.mjs).
  reporter: [['list'], ['json', { outputFile: 'artifacts/test-results/playwright.json' }]],
  outputDir: 'artifacts/playwright',
  use: {
    headless: true,
    launchOptions: {
      executablePath: process.env.AIRPANEL_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
