import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test as base, expect, type Browser, type Page } from '@playwright/test';
import type { Role } from '@airpanel/contract';
import type { BackendOptions } from '@airpanel/backend/backend';
import {
  Cleanups,
  REPO_ROOT,
  ReadingFeeder,
  proxyBackendLinks,
  provisionPanel,
  startBackend,
  startPanel,
  type AdminApi,
  type BackendLinks,
  type InProcessBackend,
  type InProcessPanelOptions,
  type ProvisionedPanel,
  type TestPanel,
} from '../../harness/index.js';

/**
 * The one fixture of the backoffice's Playwright specs (this folder): a real backend in this
 * process (the harness's startBackend: SQLite, embedded MQTT, the built app of
 * `npm run build:backoffice` served at /), a user per role, a page logged in as any of them
 * through the login form, real panel cores that reach the backend through link proxies a
 * test can cut, screenshots at desktop and phone size, and axe-core's accessibility check.
 */

/** One user per role; passwords follow the backend's rules (12+ characters, 5+ different). */
export const USERS: Readonly<Record<Role, { name: string; password: string }>> = {
  admin: { name: 'ada', password: 'correct horse battery staple 1' },
  operator: { name: 'otto', password: 'operator pass phrase 22' },
  'release-manager': { name: 'rita', password: 'release manager words 3' },
  viewer: { name: 'vera', password: 'viewer only reading 44' },
};

export const VIEWPORTS = {
  desktop: { width: 1366, height: 768 },
  phone: { width: 375, height: 812 },
} as const;

export const SCREENSHOT_DIR = join(REPO_ROOT, 'artifacts', 'backoffice');

export interface StartedPanel {
  panelId: string;
  registration: ProvisionedPanel;
  panel: TestPanel;
  /** Keeps the panel's documents coming (a reading every 250 ms), stopped with the test. */
  feeder: ReadingFeeder;
}

export interface BackofficeStack {
  backend: InProcessBackend;
  /** The backend's root: the app is at `${url}/`. */
  url: string;
  /** The admin token's typed client, for set-up and for checking what the API answers. */
  api: AdminApi;
  cleanups: Cleanups;
  /** The proxies every panel started by `addPanel` dials through: `links.httpProxy.cut()` cuts them all off. */
  links: BackendLinks;
  /** Registers a panel (with a simulated sensor) and starts a real panel core for it. */
  addPanel(
    panelId: string,
    options?: { name?: string; location?: { description: string; latitude?: number; longitude?: number } },
  ): Promise<StartedPanel>;
  /** A fresh browser context at desktop size, logged in as the role's user through the login form. */
  pageAs(role: Role): Promise<Page>;
}

interface Fixtures {
  /** createBackend options of the stack (a spec sets alert thresholds, say) through `test.use`. */
  backendOptions: Partial<BackendOptions>;
  stack: BackofficeStack;
}

/** Logs `page` in through the form and waits for the page it lands on (the fleet unless the login came from another). */
export async function logIn(page: Page, role: Role, o: { landsOn?: string } = {}): Promise<void> {
  const user = USERS[role];
  await page.getByLabel('User name').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  // A login is a scrypt hash (32 MiB, tens of ms when idle) and a page load: on a loaded CI
  // machine that outlasted the default 5 s once, in a run where everything else passed.
  await expect(page.getByRole('heading', { level: 1, name: o.landsOn ?? 'Fleet' })).toBeVisible({ timeout: 30_000 });
}

/** CSP violations and uncaught errors of a page: a strict CSP must not break the app. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

async function newPage(browser: Browser, cleanups: Cleanups): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  cleanups.add(() => context.close());
  const page = await context.newPage();
  return { page, problems: watchProblems(page) };
}

export const test = base.extend<Fixtures>({
  backendOptions: [{}, { option: true }],
  stack: async ({ browser, backendOptions }, use) => {
    const cleanups = new Cleanups();
    const pageProblems: string[][] = [];
    try {
      const backend = await startBackend({ mode: 'in-process', cleanups, backend: backendOptions });
      const api = backend.admin;
      for (const [role, user] of Object.entries(USERS) as [Role, { name: string; password: string }][]) {
        await api.client.call('createUser', { body: { name: user.name, role, password: user.password } });
      }
      const links = await proxyBackendLinks(cleanups, backend);
      const stack: BackofficeStack = {
        backend,
        url: backend.url,
        api,
        cleanups,
        links,
        async addPanel(panelId, options = {}) {
          const registration = await provisionPanel(api, {
            panelId,
            ...(options.name ? { name: options.name } : {}),
            ...(options.location ? { location: options.location } : {}),
          });
          const feeder = new ReadingFeeder(() => api, registration.sensorId!, 250, 2_000).start();
          cleanups.add(() => feeder.stop());
          const panelOptions: InProcessPanelOptions = {
            mode: 'in-process',
            cleanups,
            registration,
            apiBaseUrl: links.apiBaseUrl,
            mqttUrl: links.mqttUrl,
          };
          const panel = await startPanel(panelOptions);
          return { panelId, registration, panel, feeder };
        },
        async pageAs(role) {
          const { page, problems } = await newPage(browser, cleanups);
          pageProblems.push(problems);
          await page.goto(`${backend.url}/login`);
          await logIn(page, role);
          return page;
        },
      };
      await use(stack);
      expect(pageProblems.flat(), 'CSP violations or uncaught errors in the app').toEqual([]);
    } finally {
      await cleanups.run();
    }
  },
});

export { expect };

/**
 * Screenshots of the page as it is, at desktop (1366×768) and phone (375×812) width, the whole
 * page: `artifacts/backoffice/<name>-desktop.png` and `…-phone.png`. The viewport is put back.
 */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const before = page.viewportSize() ?? VIEWPORTS.desktop;
  for (const [kind, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.evaluate(async () => {
      await document.fonts.ready;
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    });
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${kind}.png`), fullPage: true });
  }
  await page.setViewportSize(before);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe-core in the page (evaluated through the debugging protocol, so the app's CSP stays
 * as strict as in production) and expects no serious or critical violation.
 */
export async function expectNoSeriousA11yViolations(page: Page, what: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `axe-core on ${what}: ${JSON.stringify(serious, null, 2)}`).toEqual([]);
}
