// Starts a real Mosquitto for tests, configured by the same generator a deployment uses.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { panelDynsecEntries } from '../dynsec.js';
import { writeMosquittoDeployment, type MosquittoDeployment, type MosquittoTlsListener } from '../mosquitto-config.js';

export const MOSQUITTO_BINARY = process.env['MOSQUITTO_BINARY'] ?? '/usr/sbin/mosquitto';

export interface RunningMosquitto {
  url: string;
  port: number;
  /** The panels' TLS listener (mqtts://127.0.0.1:PORT) when started with `tls`. */
  tlsUrl: string | null;
  deployment: MosquittoDeployment;
  backendUsername: string;
  backendPassword: string;
  /** What Mosquitto wrote to stderr so far (its log), for failure messages. */
  log(): string;
  /** Stops the broker (SIGTERM: it saves its state) and starts it again on the same port and files. */
  restart(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL: a crash, nothing saved since the last autosave) and waits
   * until the process is gone; `restart()` starts it again on the same port and files.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Stops the broker, writes these panels' accounts into its dynsec file (the entries dynsec
   * itself would create, see panelDynsecEntries) and starts it again: thousands of panels in
   * seconds where creating them one by one through dynsec takes many minutes.
   */
  seedPanelAccounts(accounts: readonly { panelId: string; apiKey: string }[]): Promise<void>;
  /** Stops the broker (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

/** Mosquitto cannot bind port 0: borrow a free port from the kernel, release it, hand it over. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startMosquitto(
  options: { backendUsername?: string; backendPassword?: string; tls?: Omit<MosquittoTlsListener, 'port' | 'bindAddress'> } = {},
): Promise<RunningMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'airpanel-mosquitto-'));
  const backendUsername = options.backendUsername ?? 'airpanel-backend';
  const backendPassword = options.backendPassword ?? 'backend-password-for-tests-only';
  try {
    const port = await freePort();
    const tlsPort = options.tls ? await freePort() : null;
    const deployment = await writeMosquittoDeployment({
      ...(options.tls && tlsPort ? { tls: { ...options.tls, port: tlsPort, bindAddress: '127.0.0.1' } } : {}),
      outDir: dir,
      port,
      bindAddress: '127.0.0.1',
      backendUsername,
      backendPassword,
      // Started as root, Mosquitto would drop to the `mosquitto` user, who cannot read this temp dir.
      runAsUser: userInfo().username,
      passwordIterations: 1_000,
    });
    let stderr = '';
    const launch = async (): Promise<ChildProcess> => {
      const started = spawn(MOSQUITTO_BINARY, ['-c', deployment.confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      started.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      const spawnError = new Promise<never>((_, reject) =>
        started.once('error', (error) => reject(new Error(`cannot start ${MOSQUITTO_BINARY}: ${error.message}`))),
      );
      spawnError.catch(() => undefined);
      const deadline = Date.now() + 5_000;
      try {
        for (;;) {
          if (started.exitCode !== null) throw new Error(`mosquitto exited with code ${started.exitCode}:\n${stderr}`);
          if (await Promise.race([accepts(port), spawnError])) return started;
          if (Date.now() > deadline) throw new Error(`mosquitto did not listen on port ${port} within 5 s:\n${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      } catch (error) {
        started.kill('SIGKILL');
        await exited(started);
        throw error;
      }
    };
    const terminate = async (running: ChildProcess): Promise<void> => {
      running.kill('SIGTERM');
      const killer = setTimeout(() => running.kill('SIGKILL'), 3_000);
      await exited(running);
      clearTimeout(killer);
    };
    let running = await launch();

    let stopping: Promise<void> | undefined;
    return {
      url: `mqtt://127.0.0.1:${port}`,
      port,
      tlsUrl: tlsPort ? `mqtts://127.0.0.1:${tlsPort}` : null,
      deployment,
      backendUsername,
      backendPassword,
      log: () => stderr,
      async restart() {
        if (stopping) throw new Error('mosquitto was stopped');
        await terminate(running);
        running = await launch();
      },
      async seedPanelAccounts(accounts) {
        if (stopping) throw new Error('mosquitto was stopped');
        await terminate(running);
        const file = JSON.parse(await readFile(deployment.dynsecPath, 'utf8')) as { clients: unknown[]; roles: unknown[] };
        for (const { panelId, apiKey } of accounts) {
          const { client, role } = panelDynsecEntries(panelId, apiKey);
          file.clients.push(client);
          file.roles.push(role);
        }
        await writeFileAtomic(deployment.dynsecPath, JSON.stringify(file), { mode: 0o600 });
        running = await launch();
      },
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        if (running.exitCode !== null || running.signalCode !== null) return;
        running.kill(signal);
        await exited(running);
      },
      stop: () =>
        (stopping ??= (async () => {
          await terminate(running);
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
