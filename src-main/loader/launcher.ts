import { spawn, type ChildProcess } from 'node:child_process';

/** A started bundle, as the loader sees it. */
export interface LaunchedApp {
  readonly pid: number | undefined;
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  onMessage(listener: (msg: unknown) => void): void;
  kill(): void;
}

/** Starts a bundle's entry point (injected: Electron on a panel, Node for the stub test app). */
export interface AppLauncher {
  launch(entry: string, env: Record<string, string>): LaunchedApp;
}

/**
 * Spawns `command ...args entry` with an IPC channel (the bundle's health report comes over
 * it). On a panel: `electron` (with its kiosk flags); in tests: `process.execPath`.
 */
export class ProcessLauncher implements AppLauncher {
  constructor(private readonly command: string, private readonly args: readonly string[] = [], private readonly options: { stdio?: 'inherit' | 'ignore'; env?: Record<string, string> } = {}) {}

  launch(entry: string, env: Record<string, string>): LaunchedApp {
    const stdio = this.options.stdio ?? 'inherit';
    // The loader itself may run as `ELECTRON_RUN_AS_NODE=1 electron loader.js`; the app must not.
    const { ELECTRON_RUN_AS_NODE: _asNode, ...inherited } = process.env;
    // Its own process group, so a hung app is killed with everything it started (Electron's
    // GPU and renderer processes), not just its main process.
    const child: ChildProcess = spawn(this.command, [...this.args, entry], {
      stdio: ['ignore', stdio, stdio, 'ipc'],
      env: { ...inherited, ...this.options.env, ...env },
      detached: true,
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: 'spawn-error' }));
    });
    return {
      pid: child.pid,
      exited,
      onMessage: (listener) => child.on('message', listener),
      kill: () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      },
    };
  }
}
