/**
 * The developer stack behind `npm start` and the browser specs, as a function:
 *
 *   1. the backend (server-stub: embedded SQLite + embedded MQTT), stoppable and startable
 *      again on the same ports (the simulator's "backend" switch);
 *   2. link proxies between panel and backend (HTTP and MQTT) that the simulator can cut
 *      (its "network" switch): the panel's panel.json points at them;
 *   3. one simulated panel, provisioned through the backend's admin API (a simulated sensor
 *      source, the panel, a fresh API key) with its panel.json in <dataRoot>/<panelId>;
 *   4. the panel itself: the Electron simulator (panel window + control window) where the
 *      Electron binary exists, otherwise the headless host serving the panel and the
 *      browser simulator.
 *
 * The backend, the link proxies and the provisioning are the test harness's (test/harness/:
 * InProcessBackend, proxyBackendLinks, provisionPanel + panelConfigFor + writePanelConfig),
 * so the dev stack, the tests and the benchmarks start and provision them one way.
 * scripts/start.ts is the command line around it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import got from 'got';
import mqtt from 'mqtt';
import winston from 'winston';
import type { AveragingRule, PanelConfigInput, PollutantValues } from '@airpanel/contract';
import type { PanelSizeId } from '@airpanel/contract/internal';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { createPanelLogger } from '@airpanel/panel/core/logger';
import { PanelCore, type CoreTuning } from '@airpanel/panel/core/panel-core';
import { RESTART_EXIT_CODE } from '@airpanel/panel/core/host';
import { VirtualSensor } from '@airpanel/panel/core/sensor/virtual-sensor';
import { unrefScheduler } from '@airpanel/panel/core/clock';
import { locateElectron } from '@airpanel/panel/electron/locate';
import { HeadlessHost } from '@airpanel/panel/headless/headless-host';
import { silentLogger, type Logger } from '@airpanel/node-support/logger';
import { BackendAdminClient } from '@airpanel/panel/headless/simulator/admin-client';
import type { LinkProxy } from '@airpanel/panel/headless/simulator/link-proxy';
import { SimulatorControls, startSimulatorServer, type SimulatorSwitch } from '@airpanel/panel/headless/simulator/simulator-controls';
import type { Backend } from '@airpanel/backend/backend';
import type { Logger as BackendLogger } from '@airpanel/backend/logger';
import { AdminApi } from '@airpanel/harness/admin';
import { startBackend } from '@airpanel/harness/backend';
import { Cleanups } from '@airpanel/harness/cleanups';
import { proxyBackendLinks } from '@airpanel/harness/links';
import { panelConfigFor, provisionPanel, writePanelConfig } from '@airpanel/harness/provision';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const FIRMWARE_VERSION = '0.1.0-dev';

export interface DevStackOptions {
  /** Where .data lives (default: <repo>/.data). */
  dataRoot?: string;
  /** The backend's data dir (default: <dataRoot>/demo). */
  backendDataDir?: string;
  /** Backend HTTP and embedded MQTT ports; 0 = any free port (the default). */
  backendPort?: number;
  mqttPort?: number;
  /** Backend sensor refresh interval, seconds (the backend's default when absent). */
  refreshIntervalSeconds?: number;
  /** Fixed admin token (else the backend's, generated in its data dir). */
  adminToken?: string;
  mode?: 'auto' | 'headless' | 'electron';
  panelId?: string;
  /** The panel's simulated sensor source (default: <panelId>-sensor). */
  sensorId?: string;
  /** Where panel.json, the cache and the panel's logs go (default: <dataRoot>/<panelId>). */
  panelDataDir?: string;
  /** A reading posted at every start (default: only when the sensor was just created). */
  initialReading?: PollutantValues;
  /** Headless host port; 0 = any free port. */
  port?: number;
  /** Start the panel core (false: provision only, e.g. a test that boots the core itself). */
  startPanel?: boolean;
  /** Core timing overrides (tests). */
  tuning?: Partial<CoreTuning>;
  /** Extra panel.json fields (e.g. a short freshnessWindowSeconds). */
  panelJson?: Partial<PanelConfigInput>;
  log?: Logger;
  /** Electron mode: called when the Electron app exits on its own (default: SIGINT to this process, so `npm start` stops). */
  onElectronExit?: (code: number | null) => void;
  /** Where the backend logs: a file in its data dir (default), nowhere, or this logger. */
  backendLog?: 'file' | 'silent' | BackendLogger;
  /**
   * Headless mode: give the panel an own sensor the simulator sets (a VirtualSensor behind a
   * `sds011` entry in panel.json), with this averaging rule on the panel and the backend (the
   * EAQI's 24 h would keep a demo waiting a day) and a reading every `readingIntervalMs`.
   */
  ownSensor?: { averaging: AveragingRule; readingIntervalMs: number };
}

export interface DevStack {
  mode: 'headless' | 'electron';
  /** Why Electron was not used (headless mode), else null. */
  electronUnavailable: string | null;
  /** The browser simulator (headless) or the control page (Electron). */
  simulatorUrl: string;
  /** The panel as a browser shows it (headless), else null. */
  panelUrl: string | null;
  panelId: string;
  /** The panel's API key (fresh at every start: the dev stack rotates it). */
  panelApiKey: string;
  panelDataDir: string;
  controls: SimulatorControls;
  backend(): Backend | null;
  /** The backend's admin API (the contract's typed client with its admin token); throws while the backend is stopped. */
  admin(): AdminApi;
  /** The headless host (headless mode), else null. */
  host: HeadlessHost | null;
  /** The running panel core (headless mode), else null. */
  core(): PanelCore | null;
  stop(): Promise<void>;
}

/** Both links (HTTP and MQTT) as one switch. */
class NetworkSwitch implements SimulatorSwitch {
  constructor(private readonly proxies: LinkProxy[]) {}
  get up(): boolean {
    return this.proxies.every((p) => p.up);
  }
  async set(up: boolean): Promise<void> {
    for (const p of this.proxies) {
      if (up) p.restore();
      else p.cut();
    }
  }
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: repoRoot, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const log = options.log ?? silentLogger;
  const dataRoot = options.dataRoot ?? join(repoRoot, '.data');
  const panelId = options.panelId ?? 'panel-1';
  const sensorId = options.sensorId ?? `${panelId}-sensor`;
  const panelDataDir = options.panelDataDir ?? join(dataRoot, panelId);
  const serverDir = options.backendDataDir ?? join(dataRoot, 'demo');
  mkdirSync(serverDir, { recursive: true, mode: 0o700 });

  const cleanups = new Cleanups();
  const stopAll = () => cleanups.run();

  try {
    const backendLogger =
      typeof options.backendLog === 'object'
        ? options.backendLog
        : options.backendLog === 'silent'
          ? silentLogger
          : winston.createLogger({
              format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
              transports: [new winston.transports.File({ filename: join(serverDir, 'backend.log'), maxsize: 5_000_000, maxFiles: 2 })],
            });
    // Stoppable and startable again on the same ports: the simulator's "backend" switch.
    const backend = await startBackend({
      mode: 'in-process',
      cleanups,
      dataDir: serverDir,
      port: options.backendPort ?? 0,
      mqtt: { mode: 'embedded', port: options.mqttPort ?? 0, host: '127.0.0.1' },
      // Without a fixed token the backend's own, generated in its data dir.
      adminToken: options.adminToken ?? null,
      backend: {
        logger: backendLogger,
        ...(options.refreshIntervalSeconds ? { refreshIntervalSeconds: options.refreshIntervalSeconds } : {}),
        ...(options.ownSensor ? { panelReadingAveraging: options.ownSensor.averaging } : {}),
      },
    });
    const backendSwitch: SimulatorSwitch = {
      get up() {
        return backend.up;
      },
      set: (up) => (up ? backend.start() : backend.stop()),
    };
    const links = await proxyBackendLinks(cleanups, backend);
    const { httpProxy, mqttProxy } = links;

    const electron = options.mode === 'headless' ? { reason: 'headless mode was asked for (--headless)' } : locateElectron();
    const useElectron = 'path' in electron;
    // The virtual own sensor lives in the headless host's process; Electron gets none.
    const withOwnSensor = Boolean(options.ownSensor) && !useElectron;
    // Idempotent: a second start gives the existing panel a fresh key. Its panel.json points at the link proxies.
    const provisioned = await provisionPanel(new AdminApi(backend.url, backend.adminToken), {
      panelId,
      sensorId,
      sensorName: 'Simulated sensor',
      name: 'Simulated panel',
      location: { description: 'Developer machine' },
      firstPm25: null,
    });
    const panelApiKey = provisioned.apiKey;
    await writePanelConfig(
      panelDataDir,
      panelConfigFor(provisioned, {
        apiBaseUrl: links.apiBaseUrl,
        mqttUrl: links.mqttUrl,
        extra: {
          // The production freshness window (15 min) unless asked otherwise: the backend renews
          // documents each refresh interval, so a much shorter window shows the stale badge even
          // while connected. A short one (e.g. 30 s) shows the badge soon after the link is cut.
          pollIntervalSeconds: 10,
          heartbeatSeconds: 15,
          ...(withOwnSensor ? { sensor: { kind: 'sds011', device: '/dev/airpanel-simulated-sds011' } } : {}),
          ...options.panelJson,
        },
      }),
    );
    const admin = new BackendAdminClient({ apiBaseUrl: backend.url, adminToken: backend.adminToken, panelId, sensorSourceId: sensorId });
    if (options.initialReading) await admin.setReading(options.initialReading);
    else if (provisioned.created || provisioned.sensorCreated) await admin.setReading({ pm25: 8, pm10: 15 });

    if (options.mode === 'electron' && !useElectron) throw new Error(`Electron cannot run here: ${electron.reason}`);

    const controlsBase = {
      panelId,
      admin,
      network: new NetworkSwitch([httpProxy, mqttProxy]),
      backend: backendSwitch,
      log,
    };

    if (useElectron) {
      run('npm', ['run', 'build:electron']); // always the current code in dist/app
      const controls = new SimulatorControls({ ...controlsBase, panelUrl: null });
      const server = await startSimulatorServer(controls);
      cleanups.add(() => server.close());
      let child: ChildProcess | null = null;
      let stopping = false;
      const launch = () => {
        child = spawn(electron.path, [repoRoot, '--simulator', `--data-dir=${panelDataDir}`, `--simulator-url=${server.url}`], {
          cwd: repoRoot,
          stdio: 'inherit',
          env: { ...process.env, AIRPANEL_RESTART_EXIT: '1' },
        });
        child.on('exit', (code) => {
          child = null;
          if (stopping) return;
          if (code === RESTART_EXIT_CODE) {
            log.info('dev stack: Electron asked for a restart');
            launch();
          } else {
            log.info('dev stack: Electron exited', { code });
            if (options.onElectronExit) options.onElectronExit(code);
            else process.kill(process.pid, 'SIGINT');
          }
        });
      };
      launch();
      cleanups.add(
        () =>
          new Promise<void>((done) => {
            stopping = true;
            const c = child as ChildProcess | null;
            if (!c) return done();
            c.once('exit', () => done());
            c.kill('SIGTERM');
          }),
      );
      return {
        mode: 'electron',
        electronUnavailable: null,
        simulatorUrl: `${server.url}/simulator`,
        panelUrl: null,
        panelId,
        panelApiKey,
        panelDataDir,
        controls,
        backend: () => (backend.up ? backend.backend : null),
        admin: () => backend.admin,
        host: null,
        core: () => null,
        stop: stopAll,
      };
    }

    // Headless: the same core under Node, the renderer and the simulator on one server.
    if (!existsSync(join(repoRoot, 'src-renderer/dist/index.html'))) run('npm', ['run', 'build:renderer']);
    let size: PanelSizeId = 'landscape';
    // Several samples per reading, as a serial sensor gives (one frame a second, a reading a minute).
    const ownSensor = options.ownSensor
      ? new VirtualSensor('sds011', unrefScheduler, Math.min(1_000, Math.max(20, options.ownSensor.readingIntervalMs / 4)))
      : null;
    const controls = new SimulatorControls({
      ...controlsBase,
      panelUrl: '/',
      size,
      onSizeChange: (s) => (size = s),
      ...(ownSensor ? { ownSensor } : {}),
    });
    const panelLogger = createPanelLogger({ dataDir: panelDataDir, stdout: false });
    let core: PanelCore | null = null;
    const host = new HeadlessHost({
      rendererDir: join(repoRoot, 'src-renderer/dist'),
      port: options.port ?? 0,
      log,
      mounts: [controls],
      // In-process restart: a new core behind the same bridge (no supervisor here).
      restart: async () => {
        const old = core;
        core = await makeCore();
        host.setSource(core);
        await old?.stop();
        await core.start();
      },
    });
    const makeCore = async () =>
      new PanelCore({
        dataDir: panelDataDir,
        config: await loadPanelConfig(panelDataDir),
        mqttConnect: (url, opts) => mqtt.connect(url, opts),
        http: got,
        hostActions: host.actions,
        logger: panelLogger,
        firmwareVersion: FIRMWARE_VERSION,
        ...(options.tuning || options.ownSensor
          ? {
              tuning: {
                ...options.tuning,
                ...(options.ownSensor
                  ? {
                      ownSensor: {
                        ...options.tuning?.ownSensor,
                        averaging: options.ownSensor.averaging,
                        readingIntervalMs: options.ownSensor.readingIntervalMs,
                      },
                    }
                  : {}),
              },
            }
          : {}),
        ...(ownSensor ? { sensorDriver: ownSensor } : {}),
      });
    core = await makeCore();
    const url = await host.listen(core);
    cleanups.add(
      () => host.close(),
      () => controls.close(),
    );
    cleanups.add(async () => {
      await core?.stop();
      panelLogger.close();
    });
    if (options.startPanel !== false) await core.start();
    return {
      mode: 'headless',
      electronUnavailable: 'reason' in electron ? electron.reason : null,
      simulatorUrl: `${url}/simulator`,
      panelUrl: `${url}/`,
      panelId,
      panelApiKey,
      panelDataDir,
      controls,
      backend: () => (backend.up ? backend.backend : null),
      admin: () => backend.admin,
      host,
      core: () => core,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
