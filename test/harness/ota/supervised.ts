import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Ed25519Verifier } from '@airpanel/panel/core/update/index';
import { join } from 'node:path';
import got from 'got';
import { BundleLoader, type LaunchOutcome } from '@airpanel/panel/loader/loader';
import { ProcessLauncher } from '@airpanel/panel/loader/launcher';
import { buildForNode } from '../build.js';

export interface StubStatus {
  version: string;
  launch: string;
  port: number | null;
  pid: number;
}

/**
 * A panel under its supervisor for end-to-end tests: the real loader (in this process)
 * starting stub test-app bundles as real child processes.
 */
export class SupervisedStubPanel {
  readonly loader: BundleLoader;
  readonly outcomes: LaunchOutcome[] = [];
  private running: Promise<void> | null = null;

  constructor(
    readonly dataDir: string,
    factoryDir: string,
    buildDir: string,
    env: { manifestUrl: string; reportUrl: string; keyring: string; panelId: string; checkMs?: number; channel?: string },
    healthDeadlineMs: number,
    runtime = 'stub-app-runtime',
  ) {
    const rt = buildForNode(join(import.meta.dirname, `${runtime}.ts`), join(buildDir, `${runtime}.mjs`));
    this.loader = new BundleLoader({
      dataDir,
      factoryDir,
      verifier: Ed25519Verifier.fromFile(JSON.parse(readFileSync(env.keyring, 'utf8'))),
      runtimeVersion: '45.4.1',
      healthDeadlineMs,
      restartDelayMs: 50,
      launcher: new ProcessLauncher(process.execPath, rt.nodeArgs, {
        stdio: 'inherit',
        env: {
          AIRPANEL_STUB_RUNTIME: rt.entry,
          AIRPANEL_STUB_MANIFEST_URL: env.manifestUrl,
          AIRPANEL_STUB_REPORT_URL: env.reportUrl,
          AIRPANEL_STUB_KEYRING: env.keyring,
          AIRPANEL_STUB_PANEL_ID: env.panelId,
          AIRPANEL_STUB_CHECK_MS: String(env.checkMs ?? 3_600_000),
          AIRPANEL_STUB_CHANNEL: env.channel ?? 'stable',
        },
      }),
    });
  }

  start(): void {
    this.running = this.loader.run((o) => this.outcomes.push(o));
  }

  async stop(): Promise<void> {
    this.loader.stop();
    await this.running;
  }

  async status(): Promise<StubStatus | null> {
    try {
      return JSON.parse(await readFile(join(this.dataDir, 'stub-app.json'), 'utf8')) as StubStatus;
    } catch {
      return null;
    }
  }

  /** Waits until a healthy stub app of `version` runs (started as `launch`, if given). */
  async waitRunning(version: string, timeoutMs = 20_000, launch?: string): Promise<StubStatus> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (s && s.version === version && s.port !== null && (launch === undefined || s.launch === launch)) {
        try {
          await got.get(`http://127.0.0.1:${s.port}/report`, { timeout: { request: 1000 }, retry: { limit: 0 } });
          return s;
        } catch {
          // a stale file of a process that is gone
        }
      }
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${version}${launch ? ` (${launch})` : ''}; last status ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The `check-update` command, as the core would run it on a command from the backend. */
  async checkUpdate(): Promise<string> {
    const s = await this.status();
    if (!s?.port) throw new Error('no app with a control port runs');
    return got.post(`http://127.0.0.1:${s.port}/check-update`, { retry: { limit: 0 }, throwHttpErrors: false }).text();
  }

  async waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
