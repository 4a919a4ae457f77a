/**
 * Electron host entry (dist/app/main.js). Thin on purpose: app lifecycle, the kiosk window,
 * the preload bridge, renderer recovery and the simulator windows. The panel's behaviour
 * lives in the core (src-main/core), which runs the same under the headless host.
 *
 *   electron dist/app/main.js [--data-dir=DIR] [--simulator [--simulator-url=URL]]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { app, type BrowserWindow, ipcMain, Menu, powerSaveBlocker, protocol, session } from 'electron';
import { SimulatorAction, type PanelSizeId } from '@airpanel/contract/internal';
import { resolveDataDir } from '../core/data-dir.js';
import { RESTART_EXIT_CODE, type HostActions, type PanelViewSource } from '../core/host.js';
import { createPanelLogger } from '../core/logger.js';
import { createKioskCore } from '../core/kiosk/kiosk-core.js';
import { launchInfoFromEnv } from '../core/update/health.js';
import { APP_ENTRY_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, isAppUrl } from './app-origin.js';
import { registerBridgeIpc } from './ipc.js';
import { maintenancePageUrl } from '../core/kiosk/maintenance-page.js';
import { RendererSupervisor } from '../core/kiosk/renderer-supervisor.js';
import { devToolsEnabled, hardenAllWebContents, hardenSession } from './security.js';
import { SimulatorEvents } from './simulator-events.js';
import { SimulatorSettings } from './simulator-settings.js';
import { applySimulatorSize, createControlWindow, createKioskWindow, createSimulatorPanelWindow } from './windows.js';

/** Maintenance code: the app bundle has no renderer (a broken build or install). */
const MISSING_RENDERER_CODE = 'APP-1';
/** When this bundle was built (build.ts defines it): no believable clock is earlier. */
declare const __AIRPANEL_BUILD_TIME__: number | undefined;
const BUILD_TIME_MS = typeof __AIRPANEL_BUILD_TIME__ === 'number' ? __AIRPANEL_BUILD_TIME__ : 0;
const here = fileURLToPath(new URL('.', import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(1),
  options: {
    'data-dir': { type: 'string' },
    simulator: { type: 'boolean', default: false },
    'simulator-url': { type: 'string' },
    'renderer-dir': { type: 'string' },
  },
  strict: false,
  allowPositionals: true,
});
const simulator = args.simulator === true;
const simulatorUrl = typeof args['simulator-url'] === 'string' ? new URL(args['simulator-url']).origin : null;
const rendererDir = typeof args['renderer-dir'] === 'string' ? args['renderer-dir'] : join(here, 'renderer');
const preloadPath = join(here, 'preload.cjs');

// Before ready: the app:// scheme is a secure, standard origin and nothing more; every
// renderer is sandboxed.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }]);
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  // Another instance owns the screen (and the data dir): this one leaves at once.
  app.quit();
} else {
  void app
    .whenReady()
    .then(main)
    .catch((err: unknown) => {
      console.error('airpanel: fatal start-up error', err);
      app.exit(1);
    });
}

async function main(): Promise<void> {
  const dataDir = resolveDataDir({ flag: typeof args['data-dir'] === 'string' ? args['data-dir'] : undefined });
  const log = createPanelLogger({ dataDir, stdout: true });
  // On a panel the loader names the bundle's version: app.getVersion() is the image runtime's
  // (its resources/app is the loader's runtime-app, not this bundle).
  const bundleVersion = launchInfoFromEnv().version ?? app.getVersion();
  log.info('electron host starting', { mode: simulator ? 'simulator' : 'kiosk', dataDir, version: bundleVersion });

  Menu.setApplicationMenu(null);
  const policy = {
    extraOrigins: simulator && simulatorUrl ? [simulatorUrl] : [],
    allowDevTools: devToolsEnabled(app.isPackaged, process.env),
  };
  hardenAllWebContents(app, policy, log);
  hardenSession(session.defaultSession, { rendererDir, policy, log });
  if (!simulator) powerSaveBlocker.start('prevent-display-sleep');

  let panel: BrowserWindow | null = null;
  let supervisor: RendererSupervisor | null = null;
  const loadApp = () =>
    void panel?.loadURL(APP_ENTRY_URL).catch((err: unknown) => log.error('loading the app failed', { error: String(err) }));

  const hostActions: HostActions = {
    reloadRenderer: async () => {
      if (supervisor) supervisor.resetAndReload();
      else loadApp();
    },
    restartApp: async () => {
      log.warn('restart requested');
      await core.stop();
      // Under systemd (INVOCATION_ID) or `npm start` (AIRPANEL_RESTART_EXIT=1) the
      // supervisor starts us again; alone, Electron relaunches itself.
      if (process.env.INVOCATION_ID || process.env.AIRPANEL_RESTART_EXIT === '1') {
        app.exit(RESTART_EXIT_CODE);
      } else {
        app.relaunch();
        app.exit(0);
      }
    },
    captureScreenshot: async () => {
      if (!panel || panel.isDestroyed()) return null;
      return new Uint8Array((await panel.webContents.capturePage()).toPNG());
    },
  };

  // READY=1 at the first painted frame (core/kiosk, shared with the Node kiosk host); after
  // that the watchdog pings while the renderer answers.
  const { core, updater, notifier, startUp } = await createKioskCore({
    dataDir,
    runtimeHost: 'electron',
    runtimeVersion: process.versions.electron ?? 'unknown',
    appVersion: bundleVersion,
    buildTimeMs: BUILD_TIME_MS,
    hostActions,
    log,
  });
  const bridgeSource: PanelViewSource = startUp.source;
  registerBridgeIpc({
    ipcMain,
    source: bridgeSource,
    log,
    panelContents: () => (panel && !panel.isDestroyed() ? panel.webContents : null),
  });

  const settings = simulator ? new SimulatorSettings() : null;
  const initial = settings?.read();
  panel =
    settings && initial ? createSimulatorPanelWindow(preloadPath, initial.size, initial.panelPosition) : createKioskWindow(preloadPath);
  const sup = new RendererSupervisor({
    window: {
      reloadApp: loadApp,
      showMaintenance: (code) => void panel?.loadURL(maintenancePageUrl(code)),
    },
    source: core,
    log,
    timers: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
  });
  supervisor = sup;
  panel.webContents.on('render-process-gone', (_e, details) => {
    if (details.reason !== 'clean-exit') sup.fault('renderer-crash', `${details.reason} (exit ${details.exitCode})`);
  });
  panel.on('unresponsive', () => sup.unresponsive());
  panel.on('responsive', () => sup.responsive());
  app.on('child-process-gone', (_e, details) => {
    if (details.type === 'GPU' && details.reason !== 'clean-exit') sup.fault('gpu-lost', `${details.reason} (exit ${details.exitCode})`);
  });
  panel.on('closed', () => {
    panel = null;
    sup.dispose();
  });
  // A page of the app that fails to load (not a crash: a missing or broken file) is a fault
  // too, so a broken bundle ends on the maintenance screen instead of an error page.
  panel.webContents.on('did-fail-load', (_e, code, description, url, isMainFrame) => {
    if (isMainFrame && isAppUrl(url) && code !== -3 /* ABORTED: superseded by another load */) {
      sup.fault('renderer-crash', `load of ${url} failed: ${description} (${code})`);
    }
  });
  const rendererPresent = existsSync(join(rendererDir, 'index.html'));
  if (rendererPresent) {
    loadApp();
  } else {
    log.error('renderer bundle missing', { rendererDir });
    void panel.loadURL(maintenancePageUrl(MISSING_RENDERER_CODE));
  }

  if (settings && simulator) openSimulatorControls(settings, log, panel.getBounds(), (size) => panel && applySimulatorSize(panel, size));
  if (settings && panel) {
    const p = panel;
    p.on('moved', () => {
      const [x = 0, y = 0] = p.getPosition();
      settings.update({ panelPosition: { x, y } });
    });
  }

  await core.start();
  log.info('core started', { state: core.state.name });
  if (!rendererPresent) core.hostFault(MISSING_RENDERER_CODE, `no index.html in ${rendererDir}`);
  // Reports what the loader did at this start (trial, rollback) and schedules checks.
  await updater?.start().catch((err: unknown) => log.error('OTA updater failed to start', { error: String(err) }));
  notifier.startWatchdog(async () => {
    const contents = panel && !panel.isDestroyed() ? panel.webContents : null;
    if (!contents || contents.isCrashed()) return false;
    // A renderer round-trip, bounded: a hung renderer never answers.
    const answer = contents.executeJavaScript('1 + 1', false).then(
      (v: unknown) => v === 2,
      () => false,
    );
    return Promise.race([answer, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref())]);
  });

  let stopping = false;
  app.on('before-quit', (event) => {
    if (stopping) return;
    stopping = true;
    event.preventDefault();
    log.info('electron host stopping');
    notifier.stop();
    updater?.stop();
    void core.stop().finally(() => app.quit());
  });
  app.on('window-all-closed', () => app.quit());
  process.on('SIGTERM', () => app.quit());
  process.on('SIGINT', () => app.quit());
}

/** Simulator mode: the shared control page in a window beside the panel. */
function openSimulatorControls(
  settings: SimulatorSettings,
  log: ReturnType<typeof createPanelLogger>,
  panelBounds: { x: number; y: number; width: number; height: number },
  resize: (size: PanelSizeId) => void,
): void {
  if (!simulatorUrl) {
    log.warn('simulator: no --simulator-url; the panel window runs without controls');
    return;
  }
  const stored = settings.read();
  // First run: beside the panel window; later: where the developer left it.
  const controls = createControlWindow(
    stored.controlBounds ?? { x: panelBounds.x + panelBounds.width + 12, y: panelBounds.y, width: 420, height: 820 },
  );
  void controls.loadURL(`${simulatorUrl}/simulator?preview=off`);
  const save = () => {
    if (!controls.isDestroyed()) settings.update({ controlBounds: controls.getBounds() });
  };
  controls.on('moved', save);
  controls.on('resized', save);
  // The size the developer chose last time wins over the control server's default.
  let current = stored.size;
  const restore = SimulatorAction.parse({ action: 'set-size', size: stored.size });
  void fetch(`${simulatorUrl}/simulator/api/action`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(restore),
  }).catch((err: unknown) => log.warn('simulator: could not restore the panel size', { error: String(err) }));
  const events = new SimulatorEvents(
    simulatorUrl,
    (state) => {
      if (state.size === current) return;
      current = state.size;
      settings.update({ size: state.size });
      resize(state.size);
    },
    log,
  );
  events.start();
  app.on('will-quit', () => events.stop());
}
