import { PNG } from 'pngjs';
import { expect, expectNoSeriousA11yViolations, shoot, test } from './fixtures.js';

// The fleet and panel pages against the real backend and real panel cores: live states,
// a panel cut from the network turning offline with an alert (no reload), a screenshot
// command ending with the picture on the panel page, and the other commands' acks arriving.

test.use({
  backendOptions: { httpOnlineWindowSeconds: 2, alerts: { thresholds: { offline: 10 }, evaluationIntervalMs: 250 } },
});

/** A real PNG (a blue frame with a yellow bar), what the panel's host hands over as its screenshot. */
function pictureBytes(width = 96, height = 54): Uint8Array {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const bar = y > height / 3 && y < (2 * height) / 3;
      png.data[i] = bar ? 240 : 20;
      png.data[i + 1] = bar ? 200 : 60;
      png.data[i + 2] = bar ? 0 : 140;
      png.data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

test('a panel cut from the network turns offline in the fleet view, live, and raises an alert', async ({ stack }) => {
  test.setTimeout(120_000);
  await stack.addPanel('north-gate', {
    name: 'North gate',
    location: { description: 'Ring road north', latitude: 48.215, longitude: 16.372 },
  });
  await stack.addPanel('south-bridge', {
    name: 'South bridge',
    location: { description: 'River bridge', latitude: 48.182, longitude: 16.381 },
  });
  await stack.addPanel('west-school', {
    name: 'West school',
    location: { description: 'School street', latitude: 48.201, longitude: 16.33 },
  });
  const page = await stack.pageAs('operator');
  const row = page.locator('tr[data-panel-id="north-gate"]');
  await expect(row.getByTestId('online')).toHaveText('online', { timeout: 30_000 });
  await expect(row.getByTestId('state')).toHaveText('live', { timeout: 30_000 });
  await expect(page.getByTestId('count-online')).toContainText('3');
  await expect(page.getByTestId('live-status')).toHaveText('Live');
  await expectNoSeriousA11yViolations(page, 'the fleet page');
  await shoot(page, 'fleet');

  // Search and filter narrow the list.
  await page.getByLabel('Search').fill('bridge');
  await expect(page.locator('tbody tr')).toHaveCount(1);
  await page.getByLabel('Search').fill('');
  await page.getByRole('button', { name: 'Map' }).click();
  await expect(page.getByTestId('fleet-map').locator('circle')).toHaveCount(3);
  await expectNoSeriousA11yViolations(page, 'the fleet map');
  await shoot(page, 'fleet-map');
  await page.getByRole('button', { name: 'List' }).click();

  // The page must not reload to show what follows: a marker in the window survives only without one.
  await page.evaluate(() => ((window as unknown as { stillThisPage: boolean }).stillThisPage = true));
  stack.links.httpProxy.cut();
  stack.links.mqttProxy.cut();
  await expect(row.getByTestId('online')).toHaveText('offline', { timeout: 45_000 });
  await expect(row.getByTestId('panel-alert')).toContainText('offline', { timeout: 45_000 });
  await expect(page.getByTestId('count-offline')).toContainText('3');
  expect(await page.evaluate(() => (window as unknown as { stillThisPage?: boolean }).stillThisPage)).toBe(true);
  await shoot(page, 'fleet-offline');

  await page.getByRole('link', { name: 'Alerts' }).click();
  await expect(page.locator('[data-testid="active-alerts"] li[data-panel-id="north-gate"][data-kind="offline"]')).toBeVisible();
  await expectNoSeriousA11yViolations(page, 'the alerts page');
  await shoot(page, 'alerts');

  // Back on the network: online again, and the alert clears live.
  stack.links.httpProxy.restore();
  stack.links.mqttProxy.restore();
  await expect(page.locator('[data-testid="active-alerts"] li[data-panel-id="north-gate"]')).toHaveCount(0, { timeout: 45_000 });
});

test('a screenshot command ends with the picture on the panel page; command acks arrive live', async ({ stack }) => {
  test.setTimeout(120_000);
  const { panel, registration } = await stack.addPanel('tram-stop', { name: 'Tram stop', location: { description: 'Main square' } });
  const picture = pictureBytes();
  panel.hostActions.screenshot = picture;
  const page = await stack.pageAs('operator');
  await page.getByRole('link', { name: 'Tram stop' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Tram stop' })).toBeVisible();
  await expect(page.getByTestId('panel-status').getByTestId('state')).toHaveText('live', { timeout: 30_000 });
  // What it shows now: the panel's own renderer, drawing the current document.
  await expect(page.locator('[data-view="content"]')).toBeVisible();
  // Its transitions as the backend kept them: there after leaving the page and coming back.
  const transitions = page.getByTestId('transitions');
  await expect(transitions.getByText(/→ live/)).toBeVisible({ timeout: 30_000 });
  await page.getByRole('link', { name: 'Fleet', exact: true }).click();
  await page.getByRole('link', { name: 'Tram stop' }).click();
  await expect(transitions.getByText(/→ live/)).toBeVisible();
  await expect(transitions.getByText(/came online/)).toBeVisible();
  await expect(transitions.locator('time').first()).toHaveAttribute('datetime', /^\d{4}-\d{2}-\d{2}T/);

  await page.getByRole('button', { name: 'Take a new one' }).click();
  const shot = page.getByTestId('screenshot');
  await expect(shot).toBeVisible({ timeout: 30_000 });
  expect(await shot.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([96, 54]);
  await expect(page.getByText(/^Received /)).toBeVisible();

  await page.getByRole('group', { name: 'Send a command' }).getByRole('button', { name: 'Reload' }).click();
  const reloadRow = page.locator('tr[data-command-kind="reload"]').first();
  await expect(reloadRow.getByTestId('ack').filter({ hasText: 'done' })).toBeVisible({ timeout: 30_000 });
  expect(panel.hostActions.calls).toContain('reload');

  await expectNoSeriousA11yViolations(page, 'the panel page');
  await shoot(page, 'panel');

  // Key rotation: the new key is shown once; it works and the old one no longer does.
  const oldKey = registration.apiKey;
  await page.getByRole('button', { name: 'Rotate the key…' }).click();
  await page.getByRole('button', { name: 'Rotate now' }).click();
  const newKey = (await page.getByTestId('new-api-key').textContent())?.trim() ?? '';
  expect(newKey.length).toBeGreaterThanOrEqual(32);
  expect((await stack.api.panelClient(newKey).call('getPanel', { params: { panelId: 'tram-stop' } })).id).toBe('tram-stop');
  const refused = await stack.api
    .panelClient(oldKey)
    .call('getPanel', { params: { panelId: 'tram-stop' } })
    .then(() => null)
    .catch((e: unknown) => (e as { status?: number }).status);
  expect(refused).toBe(401);
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await expect(page.getByTestId('new-api-key')).toHaveCount(0);
});
