import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect, _electron, type ElectronApplication, type Page } from '@playwright/test';
import { locateElectron } from '@airpanel/panel/electron/locate';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';

// The real Electron host (dist/app, built by `npm run build:electron`) against the real
// backend, driven by Playwright's _electron. Runs where an Electron 45 binary exists
// (node_modules/electron/dist, or ELECTRON_OVERRIDE_DIST_PATH) and a display (X11/Wayland,
// e.g. under xvfb-run); elsewhere it skips and prints the reason.

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const located = locateElectron();
const display = process.env.DISPLAY || process.env.WAYLAND_DISPLAY;
const skipReason = !('path' in located)
  ? located.reason
  : !display
    ? 'no display (DISPLAY/WAYLAND_DISPLAY unset); run under xvfb-run'
    : null;
if (skipReason) console.log(`electron e2e: SKIPPED: ${skipReason}`);

const SHOTS = join(root, 'artifacts/screenshots');
const APP_URL = 'app://panel/index.html';

test.describe('Electron kiosk host', () => {
  test.skip(skipReason !== null, `Electron cannot run here: ${skipReason ?? ''}`);

  let dataRoot: string;
  let stack: DevStack;
  let app: ElectronApplication;
  let win: Page;

  test.beforeAll(async () => {
    // Always the current code: build main, preload and renderer into dist/app.
    const r = spawnSync('npm', ['run', 'build:electron'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(join(root, 'dist/app/preload.cjs'))) throw new Error('npm run build:electron failed');
    mkdirSync(SHOTS, { recursive: true });
    dataRoot = await mkdtemp(join(tmpdir(), 'airpanel-electron-e2e-'));
    // The real backend with a provisioned panel; the panel itself runs in Electron.
    stack = await startDevStack({ mode: 'headless', dataRoot, backendLog: 'silent', startPanel: false });
    app = await _electron.launch({
      executablePath: (located as { path: string }).path,
      // The repository as the app (package.json "main": dist/app/main.js), as electron-builder packs it.
      args: [root, `--data-dir=${stack.panelDataDir}`],
      cwd: root,
      env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' },
    });
    win = await app.firstWindow();
  });

  test.afterAll(async () => {
    await app?.close();
    await stack?.stop();
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
  });

  test('a fullscreen kiosk window, no menu, sandboxed', async () => {
    // Shown once its first frame was ready (show: false until ready-to-show).
    await expect.poll(() => app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]?.isVisible() ?? false)).toBe(true);
    const props = await app.evaluate(({ BrowserWindow }) => {
      const w = BrowserWindow.getAllWindows()[0]!;
      return {
        windows: BrowserWindow.getAllWindows().length,
        fullscreen: w.isFullScreen(),
        kiosk: w.isKiosk(),
        visible: w.isVisible(),
        menuBar: w.isMenuBarVisible(),
        frameless: w.getBounds().height === w.getContentBounds().height,
      };
    });
    expect(props).toEqual({ windows: 1, fullscreen: true, kiosk: true, visible: true, menuBar: false, frameless: true });
    expect(await app.evaluate(({ Menu }) => Menu.getApplicationMenu())).toBeNull();
  });

  // contextIsolation + sandbox + nodeIntegration off, seen from the page: no require, no
  // process, no ipcRenderer; only the PanelBridge the preload exposed.
  test('the renderer has the bridge and no Node', async () => {
    expect(win.url()).toBe(APP_URL);
    // The cursor is hidden by CSS the host inserts once the page has loaded.
    await expect.poll(() => win.evaluate(() => getComputedStyle(document.body).cursor)).toBe('none');
    const page = await win.evaluate(() => ({
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
      ipcRenderer: typeof (globalThis as { ipcRenderer?: unknown }).ipcRenderer,
      bridge: Object.keys((window as unknown as { airpanel: object }).airpanel).sort(),
      cursor: getComputedStyle(document.body).cursor,
    }));
    expect(page).toEqual({
      require: 'undefined',
      process: 'undefined',
      ipcRenderer: 'undefined',
      bridge: ['framePresented', 'getView', 'onView', 'reportError'],
      cursor: 'none',
    });
  });

  // The sandbox for real, from the main process: Chromium's own report (app.getAppMetrics) says
  // the panel's renderer process is sandboxed; the page has no Node (test above).
  test("the renderer process is sandboxed (Chromium's process metrics)", async () => {
    const seen = await app.evaluate(({ app: electronApp, webContents }) => {
      const panel = webContents.getAllWebContents().find((w) => w.getURL().startsWith('app://'))!;
      const metric = electronApp.getAppMetrics().find((m) => m.pid === panel.getOSProcessId());
      return { type: metric?.type, sandboxed: metric?.sandboxed, devToolsOpened: panel.isDevToolsOpened() };
    });
    expect(seen).toEqual({ type: 'Tab', sandboxed: true, devToolsOpened: false });
  });

  test('content from the backend appears', async () => {
    await expect(win.locator('[data-view="content"]').first()).toBeVisible({ timeout: 30_000 });
    await expect(win.locator('[data-view]')).toHaveCount(1);
    await win.screenshot({ path: join(SHOTS, 'electron-kiosk.png') });
  });

  test('navigation, new windows and foreign requests are denied', async () => {
    const opened = await win.evaluate(() => window.open('https://example.com/') === null);
    expect(opened).toBe(true);
    // Watch the main process decide (our guard runs first, this listener after it).
    const prevented = app.evaluate(
      ({ webContents }) =>
        new Promise<boolean>((resolve) => {
          const panel = webContents.getAllWebContents().find((w) => w.getURL().startsWith('app://'));
          panel?.once('will-navigate', (event) => setImmediate(() => resolve(event.defaultPrevented)));
        }),
    );
    await win.evaluate(() => {
      location.href = 'https://example.com/';
    });
    expect(await prevented).toBe(true);
    // Still the app, still alive: the navigation was cancelled in the main process.
    expect(await win.evaluate(() => location.href)).toBe(APP_URL);
    await expect(win.locator('[data-view="content"]').first()).toBeVisible();
    const fetched = await win.evaluate(() =>
      fetch('https://example.com/').then(
        () => 'loaded',
        () => 'blocked',
      ),
    );
    expect(fetched).toBe('blocked');
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
  });

  // The sandbox as the renderer itself and Electron's preference store see it (last in this
  // block: the probe reloads the page).
  // - Effective web preferences: webContents.getLastWebPreferences(), present at run time but
  //   missing from Electron 45's typings (hence Reflect): the values the renderer was started
  //   with (sandbox as enforced), not the options object windows.ts passed.
  // - process.sandboxed: defined only inside a preload (the page's world has no `process`,
  //   contextIsolation), so a probe preload is registered on the panel's session for one
  //   reload, reports over IPC and is removed; the page then comes back with its content.
  test('the renderer says process.sandboxed, and the effective web preferences are the secure ones', async () => {
    const probeFile = join(dataRoot, 'sandbox-probe.cjs');
    writeFileSync(
      probeFile,
      [
        "const { ipcRenderer } = require('electron');",
        "ipcRenderer.send('airpanel-test:sandbox-probe', { sandboxed: process.sandboxed, contextIsolated: process.contextIsolated });",
        '',
      ].join('\n'),
    );
    const seen = await app.evaluate(async ({ ipcMain, webContents }, file) => {
      const panel = webContents.getAllWebContents().find((w) => w.getURL().startsWith('app://'))!;
      const read: unknown = Reflect.get(panel, 'getLastWebPreferences');
      if (typeof read !== 'function') throw new Error('webContents.getLastWebPreferences is missing in this Electron');
      const prefs = (read as () => Record<string, unknown> | null).call(panel) ?? {};
      const reported = new Promise<unknown>((resolve) => {
        ipcMain.once('airpanel-test:sandbox-probe', (event, value: unknown) => resolve({ value, fromPanel: event.sender.id === panel.id }));
      });
      const id = panel.session.registerPreloadScript({ type: 'frame', filePath: file });
      try {
        panel.reload();
        return {
          prefs: {
            sandbox: prefs.sandbox,
            contextIsolation: prefs.contextIsolation,
            nodeIntegration: prefs.nodeIntegration,
            webSecurity: prefs.webSecurity,
          },
          renderer: await reported,
        };
      } finally {
        panel.session.unregisterPreloadScript(id);
      }
    }, probeFile);
    expect(seen).toEqual({
      prefs: { sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true },
      renderer: { value: { sandboxed: true, contextIsolated: true }, fromPanel: true },
    });
    // The reloaded page is the app again, with its bridge and content.
    await expect.poll(() => win.url(), { timeout: 30_000 }).toBe(APP_URL);
    await expect(win.locator('[data-view="content"]').first()).toBeVisible({ timeout: 30_000 });
  });
});

// The image's start chain in a real Electron: the runtime app (src-main/loader/runtime-app, as
// build.ts builds it, its runtime.json pointing at a temp factory bundle and the dev stack's
// panel data) started as the loader starts it, `<electron> <app> --airpanel-release=factory`.
// It must verify, then await the bundle's import: the bundle's top-level privileged scheme and
// enableSandbox() then run before ready, and the window comes up sandboxed.
test.describe("Electron runtime app (the image's start chain)", () => {
  test.skip(skipReason !== null, `Electron cannot run here: ${skipReason ?? ''}`);

  let work: string;
  let stack: DevStack;
  let app: ElectronApplication;
  const appDir = () => join(work, 'loader/runtime-app');
  const electron = () => (located as { path: string }).path;

  test.beforeAll(async () => {
    if (!existsSync(join(root, 'dist/app/main.js'))) {
      const r = spawnSync('npm', ['run', 'build:electron'], { cwd: root, stdio: 'inherit' });
      if (r.status !== 0) throw new Error('npm run build:electron failed');
    }
    work = await mkdtemp(join(tmpdir(), 'airpanel-electron-runtime-'));
    const built = spawnSync('npx', ['tsx', 'src-main/loader/build.ts', '--out-dir', join(work, 'loader')], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`loader build failed: ${built.stderr}`);
    // The factory bundle as buildroot/Makefile makes it: the release bundler's tarball of dist/app, extracted.
    const tarball = join(work, 'factory.tar.gz');
    const bundled = spawnSync(
      join(root, 'node_modules/.bin/tsx'),
      [join(root, 'tools/release/cli.ts'), 'bundle', '--version', '1.0.0', '--out', tarball],
      { cwd: root, encoding: 'utf8' },
    );
    if (bundled.status !== 0) throw new Error(`release bundle failed: ${bundled.stderr}`);
    mkdirSync(join(work, 'factory'));
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', join(work, 'factory')]);
    if (untar.status !== 0) throw new Error('tar failed');
    stack = await startDevStack({ mode: 'headless', dataRoot: join(work, 'stack'), backendLog: 'silent', startPanel: false });
    writeFileSync(
      join(appDir(), 'runtime.json'),
      JSON.stringify({
        dataDir: stack.panelDataDir,
        factoryDir: join(work, 'factory'),
        keyring: join(work, 'no-keyring.json'),
        runtime: electron(),
      }),
    );
    app = await _electron.launch({
      executablePath: electron(),
      args: [appDir(), '--airpanel-release=factory'],
      cwd: work,
      env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' },
    });
  });

  test.afterAll(async () => {
    await app?.close();
    await stack?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('starts the factory bundle: its window on the app origin, renderer sandboxed, version and launch from the runtime app', async () => {
    const win = await app.firstWindow();
    await expect.poll(() => win.url(), { timeout: 30_000 }).toBe(APP_URL);
    const seen = await app.evaluate(({ app: electronApp }) => ({
      version: process.env.AIRPANEL_BUNDLE_VERSION,
      launch: process.env.AIRPANEL_LAUNCH,
      sandboxed: electronApp.getAppMetrics().find((m) => m.type === 'Tab')?.sandboxed,
    }));
    expect(seen).toEqual({ version: '1.0.0', launch: 'factory', sandboxed: true });
    // The factory bundle's window was made by the bundle's own main (not the dev host above):
    // its effective web preferences too (see the kiosk host's probe for getLastWebPreferences).
    const prefs = await app.evaluate(({ webContents }) => {
      const panel = webContents.getAllWebContents().find((w) => w.getURL().startsWith('app://'))!;
      const read: unknown = Reflect.get(panel, 'getLastWebPreferences');
      if (typeof read !== 'function') throw new Error('webContents.getLastWebPreferences is missing in this Electron');
      const p = (read as () => Record<string, unknown> | null).call(panel) ?? {};
      return { sandbox: p.sandbox, contextIsolation: p.contextIsolation, nodeIntegration: p.nodeIntegration, webSecurity: p.webSecurity };
    });
    expect(prefs).toEqual({ sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true });
  });

  test('a path instead of a release name starts nothing', () => {
    const r = spawnSync(electron(), [appDir(), `--airpanel-release=${join(work, 'factory/main.js')}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/does not name a release .*never a path/);
  });
});
