import { join } from 'node:path';
import type { Page } from '@playwright/test';
import * as ops from '@airpanel/release-tools/ops';
import { ADMIN_TOKEN, makeTempDir } from '../../harness/index.js';
import { generateReleaseKey, writeKeyFile } from '../../harness/ota/feed.js';
import { stubBundle } from '../../harness/ota/stub-app.js';
import { expect, expectNoSeriousA11yViolations, shoot, test, type BackofficeStack } from './fixtures.js';
import { expectNoSidewaysScrollOnPhone } from './layout-checks.js';
import { requestAsPage } from './page-requests.js';

// The releases page against the real backend's release feed, with releases published by the
// real release operations (a key made for the test, stub bundles through the real bundler).

/** 1.0.0 to all of "stable", then 1.1.0 to 25 %; one panel rolled 1.1.0 back, one runs it. */
async function publishTwoReleases(stack: BackofficeStack): Promise<void> {
  const dir = await makeTempDir(stack.cleanups, 'airpanel-releases-spec-');
  const keyFile = await writeKeyFile(join(dir, 'release.key'), generateReleaseKey());
  const feed = { server: stack.url, token: ADMIN_TOKEN };
  for (const [version, rolloutShare] of [
    ['1.0.0', 1],
    ['1.1.0', 0.25],
  ] as const) {
    const bundle = await stubBundle(dir, version, 'healthy');
    await ops.publish(feed, { bundleFile: bundle.file, channel: 'stable', version, rolloutShare, keyFiles: [keyFile] });
  }
  const at = new Date().toISOString();
  await stack.api.client.call('reportUpdate', {
    params: { panelId: 'hd-rel-a' },
    body: {
      panelId: 'hd-rel-a',
      runningVersion: '1.0.0',
      channel: 'stable',
      report: { phase: 'rolled-back', targetVersion: '1.1.0', progress: null, detail: 'exited during its trial run', at },
    },
  });
  await stack.api.client.call('reportUpdate', {
    params: { panelId: 'hd-rel-b' },
    body: {
      panelId: 'hd-rel-b',
      runningVersion: '1.1.0',
      channel: 'stable',
      report: { phase: 'committed', targetVersion: '1.1.0', progress: null, detail: null, at },
    },
  });
}

const channel = (page: Page, name: string) => page.locator(`li.channel[data-channel="${name}"]`);

test('an operator sees the releases but cannot pause, promote or roll back (hidden, and 403 from the API)', async ({ stack }) => {
  await publishTwoReleases(stack);
  const page = await stack.pageAs('operator');
  await page.goto(`${stack.url}/releases`);
  const stable = channel(page, 'stable');
  await expect(stable.getByTestId('serving-version')).toHaveText('1.1.0');
  await expect(stable.getByTestId('rollout-share')).toHaveText('25%');
  await expect(page.getByTestId('releases').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('versions-run').locator('li[data-version="1.0.0"]')).toContainText('1 panel');
  await expect(page.getByTestId('versions-run').locator('li[data-version="1.1.0"]')).toContainText('1 panel');
  const rolledBack = page.getByTestId('release-problems').locator('tr[data-panel="hd-rel-a"]');
  await expect(rolledBack).toContainText('Rolled back');
  await expect(rolledBack).toContainText('exited during its trial run');

  await expect(page.getByRole('button', { name: /^Pause/ })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Promote/ })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Roll back/ })).toHaveCount(0);
  const refused = await requestAsPage(page, 'pauseChannel', { channel: 'stable' }, { paused: true });
  expect(refused.status).toBe(403);
  const listing = await stack.api.client.call('listReleases');
  expect(listing.channels.stable?.paused).toBe(false);
  await expectNoSeriousA11yViolations(page, 'the releases page (operator)');
});

test('a release manager pauses and resumes a channel, and gets the CLI commands for what needs a signature', async ({ stack }) => {
  await publishTwoReleases(stack);
  const page = await stack.pageAs('release-manager');
  await page.goto(`${stack.url}/releases`);
  const stable = channel(page, 'stable');
  await expect(stable.getByTestId('channel-state')).toHaveText('Serving');

  await stable.getByRole('button', { name: 'Pause stable' }).click();
  await expect(stable.getByTestId('channel-state')).toHaveText('Paused');
  expect((await stack.api.client.call('listReleases')).channels.stable?.paused).toBe(true);
  await stable.getByRole('button', { name: 'Resume stable' }).click();
  await expect(stable.getByTestId('channel-state')).toHaveText('Serving');
  expect((await stack.api.client.call('listReleases')).channels.stable?.paused).toBe(false);

  // Promoting signs a new manifest: the page gives the command, it sends nothing.
  await page.getByRole('button', { name: 'Promote 1.1.0…' }).click();
  const builder = page.getByTestId('promote-builder');
  await expect(builder.getByLabel('Rollout share (%)')).toHaveValue('50');
  await builder.getByLabel('Rollout share (%)').fill('100');
  await expect(builder.getByTestId('cli-command').locator('code')).toHaveText(
    `AIRPANEL_SERVER=${stack.url} npm run release -- promote --version 1.1.0 --share 100% --channel stable --key keys/<your-release-key>.key`,
  );
  await stable.getByRole('button', { name: 'Roll back stable…' }).click();
  await stable.getByLabel('Back to').selectOption('1.0.0');
  await expect(stable.getByTestId('cli-command').locator('code')).toContainText('rollback --channel stable --to 1.0.0 --key');
  const listing = await stack.api.client.call('listReleases');
  expect(listing.maxCounter).toBe(2);

  await expectNoSeriousA11yViolations(page, 'the releases page (release manager)');
  await expectNoSidewaysScrollOnPhone(page, 'the releases page');
  await shoot(page, 'releases');
});
