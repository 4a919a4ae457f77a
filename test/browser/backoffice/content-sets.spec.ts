import { join } from 'node:path';
import type { Browser, Page } from '@playwright/test';
import { HeadlessHost } from '@airpanel/panel/headless/headless-host';
import { REPO_ROOT } from '../../harness/index.js';
import { expect, expectNoSeriousA11yViolations, shoot, test, type BackofficeStack, type StartedPanel } from './fixtures.js';
import { expectNoSidewaysScrollOnPhone } from './layout-checks.js';
import { requestAsPage } from './page-requests.js';

// The content sets page against the real backend and a real panel core whose screen is the
// built renderer served by the headless host (npm run build:renderer, build:backoffice first).

/** A panel at level "bad" (the feeder stopped, one high reading), and its screen: the headless host's page at 1920×1080. */
async function panelAtBad(stack: BackofficeStack, browser: Browser, panelId: string): Promise<{ started: StartedPanel; screen: Page }> {
  const started = await stack.addPanel(panelId, { name: `Panel ${panelId}` });
  started.feeder.stop();
  await stack.api.postReading(started.registration.sensorId!, 300);
  const host = new HeadlessHost({ rendererDir: join(REPO_ROOT, 'src-renderer', 'dist') });
  stack.cleanups.add(() => host.close());
  await host.listen(started.panel.core);
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  stack.cleanups.add(() => context.close());
  const screen = await context.newPage();
  await screen.goto(host.url);
  return { started, screen };
}

const editorLevel = (page: Page, level: string) => page.locator(`fieldset.level[data-level="${level}"]`);
const previewText = (page: Page, size: string, field: string) => page.locator(`[data-preview="${size}"] [data-testid="${field}"]`);

test('an operator edits the "bad" message: the previews draw it, and the panel using the set shows it', async ({ stack, browser }) => {
  const { screen } = await panelAtBad(stack, browser, 'hd-panel-a');
  const screenMessage = screen.locator('[data-view="content"][data-level="bad"] [data-testid="message"]');
  await expect(screenMessage).toHaveText(/Avoid intense activity outdoors/, { timeout: 20_000 });

  const page = await stack.pageAs('operator');
  await page.goto(`${stack.url}/content-sets?set=default-en`);
  const bad = editorLevel(page, 'bad');
  const message = 'Pollution is high today. Take the tram, leave the car at home.';
  await bad.getByLabel('Message').fill(message);

  // The preview follows the level being edited, at the three panel sizes, through the renderer.
  for (const size of ['landscape', 'portrait', 'banner']) await expect(previewText(page, size, 'message')).toHaveText(message);
  await expect(page.locator('[data-preview="landscape"] [data-view="content"]')).toHaveAttribute('data-level', 'bad');
  await expect(page.locator('[data-preview="portrait"] [data-testid="level-label"]')).toHaveText('Bad');

  const row = page.locator('[data-testid="affected-panels"] tr[data-panel="hd-panel-a"]');
  await expect(row).toBeVisible();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('save-notice')).toBeVisible();
  // The panel takes the new document: the list follows it until it shows the new revision.
  await expect(row.getByTestId('catch-up')).toHaveText('Updated', { timeout: 20_000 });
  await expect(screenMessage).toHaveText(message, { timeout: 20_000 });
  const shown = Number(await row.getByTestId('displayed-revision').textContent());
  expect(shown).toBeGreaterThan(0);

  // What the API stores is what was typed.
  const stored = await stack.api.client.call('getContentSet', { params: { contentSetId: 'default-en' } });
  expect(stored.byLevel.bad?.message).toBe(message);

  await expectNoSeriousA11yViolations(page, 'the content sets page');
  await expectNoSidewaysScrollOnPhone(page, 'the content sets page');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, 'content-sets');
  await screen.screenshot({ path: join(REPO_ROOT, 'artifacts', 'backoffice', 'content-sets-panel-screen.png') });
});

test('contrast below WCAG AA for large text and text that does not fit are flagged; errors show beside their field', async ({ stack }) => {
  const page = await stack.pageAs('operator');
  await page.goto(`${stack.url}/content-sets?set=default-en`);
  const bad = editorLevel(page, 'bad');
  await expect(bad.getByTestId('contrast-ok')).toBeVisible();

  // Dark red text on the red background: about 1.3:1.
  await bad.getByTestId('foreground-input').fill('#8a1010');
  await expect(bad.getByTestId('contrast-warning')).toContainText('below WCAG AA for large text (3:1)');
  await expect(previewText(page, 'landscape', 'message')).toBeVisible();
  expect(await page.locator('[data-preview="landscape"] [data-view="content"]').evaluate((el) => getComputedStyle(el).color)).toBe(
    'rgb(138, 16, 16)',
  );

  // A message of the contract's full length cannot fit a 768×384 panel even at the renderer's floor.
  const long = 'Stay indoors and keep windows closed while the pollution lasts. '.repeat(30).slice(0, 1990);
  await bad.getByLabel('Message').fill(long);
  await expect(bad.getByTestId('fit-warning').first()).toContainText('Does not fit at');
  await expect(bad.getByTestId('fit-warning').filter({ hasText: '768×384' })).toContainText('message');
  await expect(page.locator('[data-preview="banner"] [data-testid="message"]')).toHaveAttribute('data-clamped', '');
  await shoot(page, 'content-sets-warnings');

  // An empty headline is refused by the contract's schema: the error is beside the field, nothing is saved.
  await bad.getByLabel('Headline').fill('');
  const headlineField = bad.locator('[data-field="byLevel.bad.headline"]');
  await expect(headlineField.getByTestId('field-error')).toBeVisible();
  await expect(bad.getByLabel('Headline')).toHaveAttribute('aria-invalid', 'true');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('form-errors')).toBeVisible();
  const stored = await stack.api.client.call('getContentSet', { params: { contentSetId: 'default-en' } });
  expect(stored.byLevel.bad?.headline).toBe('Air quality is bad');
});

test('a viewer reads content sets with their previews but cannot change them (hidden, and 403 from the API)', async ({ stack }) => {
  const page = await stack.pageAs('viewer');
  await page.goto(`${stack.url}/content-sets?set=default-en`);
  await expect(previewText(page, 'landscape', 'headline')).toHaveText('Air quality is good');
  await expect(page.getByRole('button', { name: 'Save', exact: true })).toHaveCount(0);
  await expect(page.getByTestId('new-content-set')).toHaveCount(0);
  await expect(editorLevel(page, 'bad').getByLabel('Message')).toBeDisabled();
  const refused = await requestAsPage(page, 'replaceContentSet', { contentSetId: 'default-en' }, { name: 'x', locale: 'en', byLevel: {} });
  expect(refused.status).toBe(403);
});

test('an operator creates a content set in Arabic: the preview lays it out right to left, and it is stored as typed', async ({ stack }) => {
  const page = await stack.pageAs('operator');
  await page.goto(`${stack.url}/content-sets`);
  await page.getByTestId('new-content-set').click();
  await page.getByLabel('Id (optional)').fill('arabic-city');
  await page.getByLabel('Name', { exact: true }).fill('المدينة');
  await page.getByLabel('Language of the texts').fill('ar');
  const good = editorLevel(page, 'good');
  await good.getByLabel('Headline').fill('جودة الهواء جيدة');
  await good.getByLabel('Message').fill('استمتع بوقتك في الخارج.');
  await good.getByLabel('Headline').focus();
  const view = page.locator('[data-preview="landscape"] [data-view="content"]');
  await expect(view).toHaveAttribute('dir', 'rtl');
  await expect(view).toHaveAttribute('lang', 'ar');
  await expect(previewText(page, 'landscape', 'headline')).toHaveText('جودة الهواء جيدة');
  await page.getByRole('button', { name: 'Create content set' }).click();
  await expect(page.getByTestId('save-notice')).toContainText('Created');
  await expect(page).toHaveURL(/set=arabic-city/);
  const stored = await stack.api.client.call('getContentSet', { params: { contentSetId: 'arabic-city' } });
  expect(stored).toMatchObject({ name: 'المدينة', locale: 'ar' });
  expect(stored.byLevel.good?.headline).toBe('جودة الهواء جيدة');
  expect(Object.keys(stored.byLevel).sort()).toEqual(['bad', 'good', 'moderate']);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, 'content-sets-new-arabic');
});
