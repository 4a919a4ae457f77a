import { ApiCallError } from '@airpanel/contract/api';
import { USERS, expect, expectNoSeriousA11yViolations, logIn, shoot, test } from './fixtures.js';

// Logging in and out through the form, the lockout after five wrong passwords, and the
// session ending for real on logout (the API answers 401 to the old cookie).

test('an operator logs in, sees the fleet, and logs out', async ({ stack, browser }) => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  stack.cleanups.add(() => context.close());
  const page = await context.newPage();
  await page.goto(`${stack.url}/fleet`);
  // Without a session the app asks to log in, and comes back to the page asked for.
  await expect(page.getByRole('heading', { level: 1, name: 'Log in' })).toBeVisible();
  await expectNoSeriousA11yViolations(page, 'the login page');
  await shoot(page, 'login');
  await logIn(page, 'operator');
  await expect(page).toHaveURL(/\/fleet$/);
  await expect(page.getByTestId('current-user')).toHaveText(USERS.operator.name);

  // A page change puts the focus on the new page's content.
  await expect(page.locator('main')).toBeFocused();
  // Keyboard first on a fresh load: the skip link, with a visible focus ring.
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Fleet' })).toBeVisible();
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  expect(await skip.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page.locator('main')).toBeFocused();

  // At a phone's width the navigation folds into the Menu button.
  await page.setViewportSize({ width: 375, height: 812 });
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav).toBeHidden();
  await page.getByRole('button', { name: 'Menu' }).click();
  await nav.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  await expect(nav).toBeHidden();
  await page.setViewportSize({ width: 1366, height: 768 });

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Log in' })).toBeVisible();
  // The session is gone on the backend too: the cookie no longer opens anything.
  const status = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  expect(status).toBe(401);
  await page.goto(`${stack.url}/audit`);
  await expect(page.getByRole('heading', { level: 1, name: 'Log in' })).toBeVisible();
});

test('a wrong password is refused, five lock the account and the page says until when', async ({ stack, browser }) => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  stack.cleanups.add(() => context.close());
  const page = await context.newPage();
  await page.goto(`${stack.url}/login`);
  const user = USERS.viewer;
  for (let attempt = 1; attempt <= 5; attempt++) {
    await page.getByLabel('User name').fill(user.name);
    await page.getByLabel('Password').fill(`wrong password number ${attempt}`);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByTestId('login-error')).toBeVisible();
    if (attempt < 5) await expect(page.getByTestId('login-error')).toHaveText('Wrong user name or password.');
  }
  // Locked now: even the right password is refused, with when to try again.
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('login-error')).toContainText(/locked for a while\. Try again after .+\./);
  await shoot(page, 'login-locked');
  const refused = await stack.api.client.call('listUsers');
  expect(refused.find((u) => u.name === user.name)?.lockedUntil).not.toBeNull();
  // The API itself refuses the right password while the lock lasts.
  const error = await stack.api.client
    .call('login', { body: { name: user.name, password: user.password } })
    .then(() => null)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApiCallError);
  expect((error as ApiCallError).status).toBe(429);
});

test.describe('a session that ends', () => {
  test.use({ backendOptions: { accounts: { sessionIdleMs: 4_000, sessionAbsoluteMs: 4_000 } } });

  test('sends the user back to the login, and to the page after it', async ({ stack }) => {
    const page = await stack.pageAs('operator');
    await page.waitForTimeout(4_500);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Log in' })).toBeVisible();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/audit');
    await logIn(page, 'operator', { landsOn: 'Audit log' });
  });
});
