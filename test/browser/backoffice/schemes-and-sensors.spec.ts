import type { Page } from '@playwright/test';
import { expect, expectNoSeriousA11yViolations, shoot, test } from './fixtures.js';
import { expectNoSidewaysScrollOnPhone } from './layout-checks.js';
import { requestAsPage } from './page-requests.js';

// The level scheme and sensor source editors against the real backend: validation errors
// (the contract's schema in the page, the API's own answers) appear beside their field.

const fieldError = (page: Page, path: string) => page.locator(`[data-field="${path}"] [data-testid="field-error"]`);

test('a level scheme error appears beside its field; nothing is saved until it is fixed', async ({ stack }) => {
  const page = await stack.pageAs('operator');
  await page.goto(`${stack.url}/level-schemes?scheme=eaqi-3`);
  await expect(page.getByRole('heading', { level: 2, name: 'EAQI, three levels' })).toBeVisible();

  // PM2.5: "Bad from" below "Moderate from".
  const badFrom = page.getByLabel('PM2.5: Bad from (µg/m³)');
  await badFrom.fill('10');
  await expect(fieldError(page, 'breakpoints.pm25.1')).toHaveText(/breakpoints must strictly increase/);
  await expect(badFrom).toHaveAttribute('aria-invalid', 'true');
  // The error names this input: it is in its description.
  const describedBy = await badFrom.getAttribute('aria-describedby');
  expect(describedBy).toContain('error');
  await expect(page.locator(`[id="${describedBy!.split(' ').pop()}"]`)).toHaveText(/strictly increase/);

  // A level id the contract refuses, and a margin out of range.
  await page.getByLabel('Level 2 id').fill('Mod erate');
  await page.getByLabel('Margin (fraction of the breakpoint)').fill('0.9');
  await expect(fieldError(page, 'levels.1.id')).toHaveText(/level id/);
  await expect(fieldError(page, 'hysteresis.marginFraction')).toBeVisible();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('form-errors')).toBeVisible();
  await expect(page.getByLabel('Level 2 id')).toBeFocused();
  await shoot(page, 'level-schemes-errors');

  await page.getByLabel('Level 2 id').fill('moderate');
  await page.getByLabel('Margin (fraction of the breakpoint)').fill('0.15');
  await badFrom.fill('60');
  await expect(page.locator('[data-testid="field-error"]')).toHaveCount(0);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('save-notice')).toBeVisible();
  const stored = await stack.api.client.call('getLevelScheme', { params: { levelSchemeId: 'eaqi-3' } });
  expect(stored.breakpoints.pm25).toEqual([20, 60]);
  expect(stored.hysteresis.marginFraction).toBe(0.15);

  // A new scheme under an id that is taken: the API's 409 shows beside the id.
  await page.getByTestId('new-level-scheme').click();
  await page.getByLabel('Id (optional)').fill('eaqi-3');
  await page.getByLabel('Name', { exact: true }).fill('Copy');
  await page.getByRole('button', { name: 'Create level scheme' }).click();
  await expect(fieldError(page, 'id')).toBeVisible();

  await page.goto(`${stack.url}/level-schemes?scheme=eaqi-3`);
  await expectNoSeriousA11yViolations(page, 'the level schemes page');
  await expectNoSidewaysScrollOnPhone(page, 'the level schemes page');
  await shoot(page, 'level-schemes');
});

test('a sensor source is created with its errors beside the fields; a viewer cannot change sources', async ({ stack }) => {
  const page = await stack.pageAs('operator');
  await page.goto(`${stack.url}/sensors?sensor=new`);
  await page.getByLabel('Name', { exact: true }).fill('Vendor station 7');
  await page.getByTestId('sensor-kind').selectOption('http-json');
  await page.getByLabel('URL').fill('ftp://vendor.example/7');
  await page.getByRole('button', { name: 'Create sensor source' }).click();
  await expect(fieldError(page, 'spec.url')).toBeVisible();
  await expect(fieldError(page, 'spec.fieldMap')).toHaveText(/map at least one pollutant/);

  await page.getByLabel('URL').fill('https://vendor.example/api/7');
  await page.getByLabel('PM2.5').fill('data..pm25');
  await expect(fieldError(page, 'spec.fieldMap.pm25')).toHaveText(/dotted path/);
  await page.getByLabel('PM2.5').fill('data.pm25');
  await page.getByLabel('Timeout (ms)').fill('20');
  await expect(fieldError(page, 'spec.timeoutMs')).toBeVisible();
  await page.getByLabel('Timeout (ms)').fill('3000');
  await expect(page.locator('[data-testid="field-error"]')).toHaveCount(0);
  await page.getByRole('button', { name: 'Create sensor source' }).click();
  await expect(page.getByTestId('save-notice')).toContainText('Created');
  await expect(page).toHaveURL(/[?&]sensor=(?!new)[a-z0-9-]+$/);
  const sources = await stack.api.client.call('listSensorSources');
  const created = sources.find((s) => s.name === 'Vendor station 7');
  expect(created?.spec).toMatchObject({
    kind: 'http-json',
    url: 'https://vendor.example/api/7',
    fieldMap: { pm25: 'data.pm25' },
    timeoutMs: 3000,
  });
  await expectNoSeriousA11yViolations(page, 'the sensors page');
  await expectNoSidewaysScrollOnPhone(page, 'the sensors page');
  await shoot(page, 'sensors');

  const viewer = await stack.pageAs('viewer');
  await viewer.goto(`${stack.url}/sensors?sensor=${created!.id}`);
  await expect(viewer.getByLabel('URL')).toBeDisabled();
  await expect(viewer.getByRole('button', { name: 'Save', exact: true })).toHaveCount(0);
  await expect(viewer.getByTestId('new-sensor')).toHaveCount(0);
  const refused = await requestAsPage(viewer, 'deleteSensorSource', { sensorId: created!.id });
  expect(refused.status).toBe(403);
});
