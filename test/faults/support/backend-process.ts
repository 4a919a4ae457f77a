// Test support: the real backend as a child process (`server-stub/src/cli.ts` under tsx), so a
// test can SIGKILL it and start it again on the same ports and data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ADMIN_TOKEN } from './stack.js';

const repo = join(import.meta.dirname, '..', '..', '..');

export interface BackendProcessOptions {
  dataDir: string;
  port: number;
  mqttPort: number;
  /** Extra environment, e.g. AIRPANEL_PUBLIC_URL when panels reach it under another address. */
  env?: Record<string, string>;
}

export class BackendProcess {
  private child: ChildProcess | null = null;
  private output = '';
  /** How many times it was started. */
  starts = 0;

  constructor(private readonly o: BackendProcessOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.o.port}`;
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.o.mqttPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the CLI and resolves once it printed that it listens (both HTTP and MQTT). */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) throw new Error('backend process already running');
    this.starts += 1;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repo, 'server-stub/src/cli.ts'), '--data-dir', this.o.dataDir, '--port', String(this.o.port), '--mqtt-port', String(this.o.mqttPort), '--host', '127.0.0.1'],
      { cwd: repo, env: { ...process.env, AIRPANEL_ADMIN_TOKEN: ADMIN_TOKEN, AIRPANEL_LOG_LEVEL: 'warn', ...this.o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
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
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const result = await exited;
    clearTimeout(killer);
    return result;
  }

  log(): string {
    return this.output;
  }
}
