/**
 * The Node kiosk host's entry (the bundle's `nodeMain`, dist/app/node-main.js): the panel core
 * under plain Node, the renderer and its bridge served on 127.0.0.1 by the HeadlessHost, and
 * Debian's Chromium as the kiosk window (inside cage: the unit runs `cage -- loader …`).
 *
 *   node node-main.js [--data-dir DIR] [--renderer-dir DIR] [--chromium PATH] [--paint-deadline-ms N]
 *
 * Environment (the unit's EnvironmentFile, /usr/lib/airpanel/host.env): AIRPANEL_CHROMIUM
 * (default /usr/bin/chromium), AIRPANEL_CHROMIUM_FLAGS (host-specific Chromium switches,
 * space-separated, e.g. `--ozone-platform=wayland`), AIRPANEL_DATA_DIR, XDG_RUNTIME_DIR (the
 * Chromium profile lives there, fresh at each window start).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveDataDir } from '../../core/data-dir.js';
import { RESTART_EXIT_CODE, type HostActions } from '../../core/host.js';
import { createPanelLogger } from '../../core/logger.js';
import { createKioskCore } from '../../core/kiosk/kiosk-core.js';
import type { PanelCore } from '../../core/panel-core.js';
import { launchInfoFromEnv } from '../../core/update/health.js';
import { HeadlessHost } from '../headless-host.js';
import { ChromiumWindow } from './chromium-window.js';
import { KioskHost } from './kiosk-host.js';

/** Maintenance code: the app bundle has no renderer (a broken build or install), as in the Electron host. */
const MISSING_RENDERER_CODE = 'APP-1';
/** Beyond a window start's own budget, for the renderer's first frame to reach READY=1. */
const START_MARGIN_MS = 30_000;
/** When this bundle was built (build.ts defines it): no believable clock is earlier. */
declare const __AIRPANEL_BUILD_TIME__: number | undefined;
const BUILD_TIME_MS = typeof __AIRPANEL_BUILD_TIME__ === 'number' ? __AIRPANEL_BUILD_TIME__ : 0;
const here = fileURLToPath(new URL('.', import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'data-dir': { type: 'string' },
    'renderer-dir': { type: 'string' },
    chromium: { type: 'string' },
    'paint-deadline-ms': { type: 'string' },
  },
  strict: true,
});

const dataDir = resolveDataDir({ flag: args['data-dir'] });
const rendererDir = args['renderer-dir'] ?? join(here, 'renderer');
const chromiumPath = args.chromium ?? process.env.AIRPANEL_CHROMIUM ?? '/usr/bin/chromium';
const chromiumFlags = (process.env.AIRPANEL_CHROMIUM_FLAGS ?? '').split(/\s+/).filter(Boolean);
const paintDeadlineMs = Number(args['paint-deadline-ms'] ?? process.env.AIRPANEL_PAINT_DEADLINE_MS ?? 90_000);
// The runtime dir is a tmpfs the unit creates (RuntimeDirectory=airpanel): no flash wear, no
// stale profile lock after a power cut.
const profileDir = join(process.env.XDG_RUNTIME_DIR || join(dataDir, 'kiosk'), 'chromium-profile');

const log = createPanelLogger({ dataDir, stdout: true });
const version = launchInfoFromEnv().version ?? 'unversioned';
log.info('node kiosk host starting', { dataDir, version, chromium: chromiumPath, flags: chromiumFlags });
if (chromiumFlags.includes('--no-sandbox') && process.env.INVOCATION_ID) {
  log.error('kiosk window: Chromium sandbox is OFF (--no-sandbox) under systemd; a panel must not run like this');
}

// Only the page this host opens knows the token; the bridge refuses every other client.
const bridgeToken = randomBytes(24).toString('base64url');
let kiosk: KioskHost | null = null;
let core: PanelCore | null = null;
let stopping = false;

/** An orderly stop that has not ended by then exits anyway (the exit handler kills the window). */
const SHUTDOWN_DEADLINE_MS = 60_000;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    setTimeout(() => {
      log.warn('shutdown did not end within its deadline: exiting now', { deadlineMs: SHUTDOWN_DEADLINE_MS });
      process.exit(code);
    }, SHUTDOWN_DEADLINE_MS).unref();
    notifier.pingWhileStopping();
    updater?.stop();
    await kiosk?.stop().catch(() => undefined);
    await core?.stop().catch(() => undefined);
    await host.close().catch(() => undefined);
  }
  process.exit(code);
}

const host = new HeadlessHost({
  rendererDir,
  log,
  bridgeToken,
  // The OTA loader (or systemd, RestartForceExitStatus=75) starts the host again.
  restart: () => shutdown(RESTART_EXIT_CODE),
});
const hostActions: HostActions = {
  reloadRenderer: async () => kiosk?.reload(),
  restartApp: () => host.actions.restartApp(),
  captureScreenshot: async () => (kiosk ? kiosk.screenshot() : null),
};

const kioskCore = await createKioskCore({
  dataDir,
  runtimeHost: 'node',
  runtimeVersion: process.versions.node,
  appVersion: version,
  buildTimeMs: BUILD_TIME_MS,
  hostActions,
  log,
  onFrame: () => kiosk?.framePainted(),
});
const { updater, notifier, startUp } = kioskCore;
const panelCore = kioskCore.core;
core = panelCore;
const rendererPresent = existsSync(join(rendererDir, 'index.html'));
if (!rendererPresent) log.error('renderer bundle missing', { rendererDir });
const url = rendererPresent ? await host.listen(startUp.source) : 'http://127.0.0.1:0';
const panelUrl = `${url}/#bridge-token=${bridgeToken}`;

kiosk = new KioskHost({
  source: panelCore,
  log,
  paintDeadlineMs,
  launchWindow: async ({ startTimeoutMs }) => {
    // A browser that was just ended may still be letting go of its files: retried, not a fault.
    rmSync(profileDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    mkdirSync(profileDir, { recursive: true, mode: 0o700 });
    return ChromiumWindow.launch({ chromiumPath, panelUrl, profileDir, extraArgs: chromiumFlags, log, startTimeoutMs });
  },
  // Until READY=1, each window start pushes systemd's start timeout out by its own budget: a
  // slow but progressing start is not killed at TimeoutStartSec; a stuck one still ends.
  onWindowStarting: (budgetMs) => void notifier.extendStartTimeout(budgetMs + START_MARGIN_MS),
  // Chromium never answered: nothing can be shown from here. The host stays up without a
  // window or watchdog pings, so systemd restarts the whole unit (an exit would only make the
  // loader start the host again in the same run, extending the start timeout once more).
  onGiveUp: (detail) => void notifier.status(`no kiosk window: ${detail}`.slice(0, 200)),
  // The static maintenance screen reports no frames over the bridge; it is what this panel
  // shows until someone acts, so systemd need not restart it (the loader gets no health report).
  onMaintenanceShown: (code) => void notifier.ready(`maintenance ${code}`),
});
const kioskHost = kiosk;
// However this process ends (an uncaught error included), no browser may outlive it.
process.on('exit', () => kioskHost.killWindowNow());
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
kiosk.start(rendererPresent ? undefined : MISSING_RENDERER_CODE);
await panelCore.start();
log.info('core started', { state: panelCore.state.name, url });
if (!rendererPresent) panelCore.hostFault(MISSING_RENDERER_CODE, `no index.html in ${rendererDir}`);
await updater?.start().catch((err: unknown) => log.error('OTA updater failed to start', { error: String(err) }));
notifier.startWatchdog(() => kioskHost.healthy());
