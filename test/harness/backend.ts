// The real backend for tests, benchmarks and the dev stack, started one of two ways:
//   in-process: createBackend in this process (fast; stoppable and startable again on the
//     same ports and data dir, the simulator's "backend" switch);
//   child: server-stub's CLI under tsx, as deployed, so a test can SIGKILL it and start it
//     again on the same ports and data dir.
// Both listen on 127.0.0.1, take a temp data dir unless given one, carry an AdminApi and are
// stopped by the cleanup list.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createBackend, type Backend, type BackendOptions, type MqttOptions } from '@airpanel/backend/backend';
import { silentLogger } from '@airpanel/backend/logger';
import { ADMIN_TOKEN, AdminApi } from './admin.js';
import { REPO_ROOT } from './build.js';
import { makeTempDir, type Cleanups } from './cleanups.js';
import { freePort } from './wait.js';
import { provisionPanel, type ProvisionedPanel } from './provision.js';

export interface InProcessBackendOptions {
  mode: 'in-process';
  cleanups: Cleanups;
  /** Default: a temp dir removed by `cleanups`. */
  dataDir?: string;
  /** 0 (default) = any free port; kept across stop/start. */
  port?: number;
  /** Default: the embedded broker on any free port. */
  mqtt?: MqttOptions;
  /** Default ADMIN_TOKEN; null: the backend's own, generated in its data dir. */
  adminToken?: string | null;
  /** Anything else createBackend takes (logger, startLoops, releaseFeed, averaging…). */
  backend?: Partial<BackendOptions>;
}

export interface ChildBackendOptions {
  mode: 'child';
  cleanups: Cleanups;
  dataDir?: string;
  /** Default: a free port chosen now (a child must be given its ports to come back on them). */
  port?: number;
  mqttPort?: number;
  /** Extra environment, e.g. AIRPANEL_PUBLIC_URL when panels reach it under another address. */
  env?: Record<string, string>;
}

/** createBackend in this process, stoppable and startable again on the same ports. */
export class InProcessBackend {
  readonly mode = 'in-process';
  private running: Backend | null = null;
  private port: number;
  private mqtt: MqttOptions;

  constructor(
    readonly dataDir: string,
    private readonly o: Omit<InProcessBackendOptions, 'mode' | 'cleanups' | 'dataDir'>,
  ) {
    this.port = o.port ?? 0;
    this.mqtt = o.mqtt ?? { mode: 'embedded', port: 0, host: '127.0.0.1' };
  }

  get up(): boolean {
    return this.running !== null;
  }

  /** The running backend; throws while stopped. */
  get backend(): Backend {
    if (!this.running) throw new Error('the backend is stopped');
    return this.running;
  }

  get url(): string {
    return this.backend.url;
  }

  get mqttUrl(): string | null {
    return this.backend.mqttUrl;
  }

  get adminToken(): string {
    return this.backend.adminToken;
  }

  get admin(): AdminApi {
    return new AdminApi(this.url, this.adminToken);
  }

  async start(): Promise<void> {
    if (this.running) return;
    const token = this.o.adminToken === undefined ? ADMIN_TOKEN : this.o.adminToken;
    const b = await createBackend({
      dataDir: this.dataDir,
      host: '127.0.0.1',
      port: this.port,
      mqtt: this.mqtt,
      logger: silentLogger,
      ...(token !== null ? { adminToken: token } : {}),
      ...this.o.backend,
    });
    // Later starts come back on the same ports.
    this.port = Number(new URL(b.url).port);
    if (this.mqtt.mode === 'embedded' && b.mqttUrl) this.mqtt = { ...this.mqtt, port: Number(new URL(b.mqttUrl).port) };
    this.running = b;
  }

  async stop(): Promise<void> {
    const b = this.running;
    this.running = null;
    await b?.close();
  }
}

/** server-stub's CLI as a child process under tsx. */
export class ChildBackend {
  readonly mode = 'child';
  private child: ChildProcess | null = null;
  private output = '';
  /** How many times it was started. */
  starts = 0;

  readonly dataDir: string;

  constructor(private readonly o: { dataDir: string; port: number; mqttPort: number; env?: Record<string, string> }) {
    this.dataDir = o.dataDir;
  }

  get url(): string {
    return `http://127.0.0.1:${this.o.port}`;
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.o.mqttPort}`;
  }

  get adminToken(): string {
    return ADMIN_TOKEN;
  }

  get admin(): AdminApi {
    return new AdminApi(this.url, ADMIN_TOKEN);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get up(): boolean {
    return this.child !== null;
  }

  /** Starts the CLI and resolves once it printed that it listens (both HTTP and MQTT). */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) throw new Error('backend process already running');
    this.starts += 1;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'server-stub/src/cli.ts'),
        '--data-dir',
        this.dataDir,
        '--port',
        String(this.o.port),
        '--mqtt-port',
        String(this.o.mqttPort),
        '--host',
        '127.0.0.1',
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, AIRPANEL_ADMIN_TOKEN: ADMIN_TOKEN, AIRPANEL_LOG_LEVEL: 'warn', ...this.o.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`backend did not start within ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
      child.stderr?.on('data', (chunk: Buffer) => {
        keep(chunk);
        if (this.output.includes('MQTT for panels:')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`backend exited during start (${code ?? signal}):\n${this.output}`));
      });
    });
    child.removeAllListeners('exit');
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
  }

  /** Sends `signal` and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child) return { code: null, signal: null };
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const result = await exited;
    clearTimeout(killer);
    return result;
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }

  log(): string {
    return this.output;
  }
}

/** A started backend (`start: false`: constructed only), stopped by `cleanups`. */
export async function startBackend(o: InProcessBackendOptions & { start?: boolean }): Promise<InProcessBackend>;
export async function startBackend(o: ChildBackendOptions & { start?: boolean }): Promise<ChildBackend>;
export async function startBackend(
  o: (InProcessBackendOptions | ChildBackendOptions) & { start?: boolean },
): Promise<InProcessBackend | ChildBackend> {
  const dataDir = o.dataDir ?? (await makeTempDir(o.cleanups, 'airpanel-backend-'));
  let backend: InProcessBackend | ChildBackend;
  if (o.mode === 'in-process') {
    const { mode: _mode, cleanups: _cleanups, dataDir: _dataDir, start: _start, ...rest } = o;
    backend = new InProcessBackend(dataDir, rest);
  } else {
    backend = new ChildBackend({
      dataDir,
      port: o.port ?? (await freePort()),
      mqttPort: o.mqttPort ?? (await freePort()),
      ...(o.env ? { env: o.env } : {}),
    });
  }
  o.cleanups.add(() => backend.stop());
  if (o.start !== false) await backend.start();
  return backend;
}

/**
 * An in-process backend (embedded broker unless `mqtt` says otherwise) with one registered
 * panel and its simulated sensor holding a first reading: the start of most fault cases.
 */
export async function startBackendWithPanel(o: {
  cleanups: Cleanups;
  panelId: string;
  mqtt?: MqttOptions;
}): Promise<{ backend: InProcessBackend; api: AdminApi; registration: ProvisionedPanel; sensorId: string }> {
  const backend = await startBackend({ mode: 'in-process', cleanups: o.cleanups, ...(o.mqtt ? { mqtt: o.mqtt } : {}) });
  const api = backend.admin;
  const registration = await provisionPanel(api, { panelId: o.panelId });
  return { backend, api, registration, sensorId: registration.sensorId! };
}
