import { defineConfig } from '@playwright/test';

// Playwright drives Debian's Chromium: the bundled browser cannot be downloaded here.
export default defineConfig({
  testDir: './test/browser',
  testMatch: '**/*.spec.ts',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  outputDir: 'artifacts/playwright',
  use: {
    headless: true,
    launchOptions: {
      executablePath: process.env.AIRPANEL_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
