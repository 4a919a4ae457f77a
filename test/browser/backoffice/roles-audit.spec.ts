import { USERS, expect, expectNoSeriousA11yViolations, shoot, test } from './fixtures.js';
import { requestAsPage } from './page-requests.js';

// Roles in the app and in the API, and the audit log recording what the test changed.

test('a viewer sees no edit control, and the API refuses the viewer with 403', async ({ stack }) => {
  await stack.addPanel('kiosk-1', { name: 'Kiosk one', location: { description: 'Station hall' } });
  const page = await stack.pageAs('viewer');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Fleet' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);

  await page.getByRole('link', { name: 'Kiosk one' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Kiosk one' })).toBeVisible();
  await expect(page.getByTestId('panel-settings-read')).toBeVisible();
  await expect(page.getByRole('group', { name: 'Send a command' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Take a new one' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Save' })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'API key' })).toHaveCount(0);
  await expect(page.locator('input, select:not(#preview-size), textarea')).toHaveCount(0);
  await expectNoSeriousA11yViolations(page, 'the panel page of a viewer');
  await shoot(page, 'panel-viewer');

  // The API says no as well, with the session's CSRF token sent: the refusal is the role's.
  expect((await requestAsPage(page, 'sendCommand', { panelId: 'kiosk-1' }, { kind: 'reload' })).status).toBe(403);
  expect((await requestAsPage(page, 'updatePanel', { panelId: 'kiosk-1' }, { name: 'Renamed' })).status).toBe(403);
  expect((await requestAsPage(page, 'rotatePanelKey', { panelId: 'kiosk-1' }, {})).status).toBe(403);
  expect((await stack.api.panel('kiosk-1')).name).toBe('Kiosk one');

  await nav.getByRole('link', { name: 'Alerts' }).click();
  await expect(page.getByTestId('alert-settings-read')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Save settings' })).toHaveCount(0);
  await page.goto(`${stack.url}/users`);
  await expect(page.getByText('Only admins manage users.')).toBeVisible();
});

test('the audit log shows every change the test made, by whom, before → after', async ({ stack }) => {
  await stack.addPanel('depot', { name: 'Depot', location: { description: 'Bus depot' } });
  const operator = await stack.pageAs('operator');
  await operator.getByRole('link', { name: 'Depot' }).click();
  await operator.getByLabel('Name', { exact: true }).fill('Depot east');
  await operator.getByRole('button', { name: 'Save' }).click();
  await expect(operator.getByRole('heading', { level: 1, name: 'Depot east' })).toBeVisible();
  await operator.getByRole('group', { name: 'Send a command' }).getByRole('button', { name: 'Reload' }).click();
  await expect(operator.locator('tr[data-command-kind="reload"]')).toHaveCount(1);
  // A state-changing request without the CSRF header is refused even with the session cookie.
  const withoutToken = await operator.evaluate(
    async ({ path }) =>
      (await fetch(path, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' })).status,
    { path: '/api/v1/panels/depot' },
  );
  expect(withoutToken).toBe(403);

  const admin = await stack.pageAs('admin');
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await expect(admin.getByTestId('users').getByRole('rowheader', { name: USERS.operator.name })).toBeVisible();
  await admin.getByLabel('User name').fill('nina');
  await admin.getByLabel('Role', { exact: true }).selectOption('viewer');
  await admin.getByLabel('Password', { exact: true }).fill('a fresh pass phrase 77');
  await admin.getByRole('button', { name: 'Add user' }).click();
  await expect(admin.getByText('User nina added.')).toBeVisible();
  const ninaRow = admin
    .getByTestId('users')
    .getByRole('row')
    .filter({ has: admin.getByRole('rowheader', { name: 'nina' }) });
  await ninaRow.getByRole('button', { name: 'Disable' }).click();
  await expect(ninaRow.getByText('disabled')).toBeVisible();
  await expectNoSeriousA11yViolations(admin, 'the users page');
  await shoot(admin, 'users');

  // Alert settings (admin): validated, saved, recorded.
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
  await admin.getByLabel('Offline (no connection or poll)').fill('5');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await expect(admin.getByRole('alert')).toContainText('thresholds.offline');
  await admin.getByLabel('Offline (no connection or poll)').fill('120');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await expect(admin.getByText('Settings saved.')).toBeVisible();
  expect((await stack.api.client.call('getAlertSettings')).thresholds.offline).toBe(120);
  await expectNoSeriousA11yViolations(admin, 'the alerts page of an admin');
  await shoot(admin, 'alerts-admin');

  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
  const entries = admin.getByTestId('audit-entries');
  await expect(entries.locator('li[data-action="createUser"]').first()).toBeVisible();
  await expect(entries.locator('li[data-action="updateUser"]').first()).toBeVisible();
  await expect(entries.locator('li[data-action="replaceAlertSettings"]').first()).toBeVisible();
  // Filter by user: the operator's changes, and only theirs.
  await admin.getByLabel('User', { exact: true }).fill(USERS.operator.name);
  await admin.getByRole('button', { name: 'Filter' }).click();
  await expect(entries.locator('li[data-action="updatePanel"]')).toHaveCount(1);
  await expect(entries.locator('li[data-action="sendCommand"]')).toHaveCount(1);
  await expect(entries.locator('li[data-action="createUser"]')).toHaveCount(0);
  const rename = entries.locator('li[data-action="updatePanel"]');
  await rename.getByText('Before → after').click();
  await expect(rename.locator('pre').first()).toContainText('"Depot"');
  await expect(rename.locator('pre').last()).toContainText('"Depot east"');
  await expectNoSeriousA11yViolations(admin, 'the audit page');
  await shoot(admin, 'audit');
  // Filter by object.
  await admin.getByLabel('User', { exact: true }).fill('');
  await admin.getByLabel('Object id').fill('nina');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await expect(entries.locator('li')).toHaveCount(2);
});
