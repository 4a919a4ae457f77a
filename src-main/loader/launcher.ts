import { spawn, type ChildProcess } from 'node:child_process';

/** A started bundle, as the loader sees it. */
export interface LaunchedApp {
  readonly pid: number | undefined;
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  onMessage(listener: (msg: unknown) => void): void;
  kill(): void;
}

/**
 * Starts a bundle (injected: the runtime on a panel, Node for the stub test app). `entry` is
 * the entry file the loader chose; `env` carries the launch (AIRPANEL_LAUNCH,
 * AIRPANEL_BUNDLE_VERSION, AIRPANEL_DATA_DIR: README, "Health protocol").
 */
export interface AppLauncher {
  launch(entry: string, env: Record<string, string>): LaunchedApp;
}

/**
 * Spawns `command ...args entry` with an IPC channel (the bundle's health report comes over
 * it): the Node host (`/usr/bin/node <runtime args> <bundle>/node-main.js`) and tests
 * (`process.execPath`).
 */
export class ProcessLauncher implements AppLauncher {
  constructor(
    protected readonly command: string,
    protected readonly args: readonly string[] = [],
    private readonly options: { stdio?: 'inherit' | 'ignore'; env?: Record<string, string> } = {},
  ) {}

  /** The command line after `command` for one launch. */
  protected argumentsFor(entry: string, _env: Record<string, string>): string[] {
    return [...this.args, entry];
  }

  /** The launch's own environment on top of the loader's. */
  protected environmentFor(env: Record<string, string>): Record<string, string> {
    return env;
  }

  launch(entry: string, env: Record<string, string>): LaunchedApp {
    const stdio = this.options.stdio ?? 'inherit';
    // Never handed on: the image's runtime has the RunAsNode fuse off anyway, and a Node host's
    // environment must not turn an Electron started from it into a plain Node.
    const { ELECTRON_RUN_AS_NODE: _asNode, ...inherited } = process.env;
    // Its own process group, so a hung app is killed with everything it started (Electron's
    // GPU and renderer processes, the Node host's Chromium), not just its main process.
    const child: ChildProcess = spawn(this.command, this.argumentsFor(entry, env), {
      stdio: ['ignore', stdio, stdio, 'ipc'],
      env: { ...inherited, ...this.options.env, ...this.environmentFor(env) },
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

/**
 * The Electron host's launcher (the image's runtime app in its loader role): starts the
 * runtime again as `<runtime> --airpanel-release=<version>|factory <runtime args>`. A release
 * NAME, never a path, and no entry in the environment: the runtime app finds the directory
 * itself, verifies it and only then imports it (runtime-app/README.md). The name comes from
 * the launch the loader chose (AIRPANEL_LAUNCH, AIRPANEL_BUNDLE_VERSION).
 */
export class ReleaseNameLauncher extends ProcessLauncher {
  protected override argumentsFor(_entry: string, env: Record<string, string>): string[] {
    const release = env.AIRPANEL_LAUNCH === 'factory' ? 'factory' : env.AIRPANEL_BUNDLE_VERSION;
    if (!release) throw new Error('ReleaseNameLauncher: the launch names no release (AIRPANEL_LAUNCH / AIRPANEL_BUNDLE_VERSION)');
    return [`--airpanel-release=${release}`, ...this.args];
  }

  protected override environmentFor(env: Record<string, string>): Record<string, string> {
    const { AIRPANEL_BUNDLE_ENTRY: _entry, AIRPANEL_BUNDLE_DIR: _dir, ...rest } = env;
    return rest;
  }
}
