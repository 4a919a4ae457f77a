import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  BUNDLE_DESCRIPTOR_FILE,
  loaderStep,
  ReleaseVersion,
  type BundleDescriptor,
  type Launch,
  type LoaderMachineOptions,
  type LoaderState,
  type LaunchCheck,
  type SignatureVerifier,
} from '@airpanel/contract/release';
import { RESTART_EXIT_CODE } from '@airpanel/contract/internal';
import { BundleCheckError, checkBundleDir, verifyInstalledRelease } from '../core/update/bundle-check.js';
import { releaseLayout, type ReleaseLayout } from '../core/update/layout.js';
import type { AppLauncher, LaunchedApp } from './launcher.js';
import { LoaderStore } from './store.js';

export interface LoaderOptions extends LoaderMachineOptions {
  dataDir: string;
  /** The factory bundle in the read-only image (a bundle dir with bundle.json). */
  factoryDir: string;
  launcher: AppLauncher;
  /** The image's release keyring (read-only root): what an installed release must be signed by. */
  verifier: SignatureVerifier;
  /**
   * The runtime's version (Electron's on the Electron host, Node's on the Node host), checked
   * against the release's `minRuntime` for this host; null: not checked.
   */
  runtimeVersion: string | null;
  /**
   * Which entry of a bundle the runtime starts: `electron` → `main` (the Electron main
   * process), `node` → `nodeMain` (the plain-Node kiosk host of the Debian image). Default electron.
   */
  host?: LoaderHost;
  /**
   * After its first `airpanel/alive` message, a running app must send the next within this
   * many ms, or it is killed as hung (a crash of that version). 0 or absent: not checked.
   */
  livenessMs?: number;
  /** A trial must report healthy within this. Default 60 s. */
  healthDeadlineMs?: number;
  /** Pause before restarting a bundle that exited (not on trial). Default 1 s. */
  restartDelayMs?: number;
  now?: () => Date;
  log?: (line: string) => void;
}

export type LoaderHost = 'electron' | 'node';

/** Only the version of a bundle descriptor, whatever else it holds. */
const FactoryVersionOnly = z.object({ version: ReleaseVersion });

/** The entry file a host starts, relative to the bundle root; null when the bundle has none for it. */
export function entryFor(descriptor: BundleDescriptor, host: LoaderHost): string | null {
  return host === 'node' ? (descriptor.nodeMain ?? null) : descriptor.main;
}

/** What happened to one launch. */
/**
 * The default liveness limit from the unit's watchdog (`WATCHDOG_USEC`, inherited through
 * cage). The app pings WATCHDOG=1 (and sends the loader `airpanel/alive`) every WatchdogSec/2;
 * the loader gives up on a silent app at 5/6 of WatchdogSec, before systemd takes the whole
 * unit down, so the hang is counted against that version (systemd's SIGTERM would read as a
 * deliberate stop). No watchdog: 0 (off).
 */
export function livenessFromWatchdog(usec: string | undefined): number {
  const n = Number(usec);
  return Number.isFinite(n) && n > 0 ? Math.floor((n / 1000) * (5 / 6)) : 0;
}

export interface LaunchOutcome {
  launch: Launch;
  bundleDir: string;
  result: 'committed-then-exited' | 'exited' | 'fell-back' | 'rolled-back-crash' | 'rolled-back-hang';
  exit: { code: number | null; signal: string | null };
  state: LoaderState;
}

/**
 * The loader: picks the bundle to start (the pure machine in common/release/loader-machine.ts
 * decides; this class only does the fs checks, the atomic writes and the process), starts it,
 * waits for its health report within the deadline, commits or rolls back, and starts again
 * when it exits. It is not updated over the air.
 */
export class BundleLoader {
  readonly layout: ReleaseLayout;
  private readonly store: LoaderStore;
  private stopped = false;
  private current: { kill(): void } | null = null;
  /** How this loader's previous launch ended (for AIRPANEL_PREVIOUS_EXIT); null before the first. */
  private previousExit: string | null = null;

  constructor(private readonly o: LoaderOptions) {
    this.layout = releaseLayout(o.dataDir);
    this.store = new LoaderStore(this.layout);
  }

  private get host(): LoaderHost {
    return this.o.host ?? 'electron';
  }

  private now(): string {
    return (this.o.now?.() ?? new Date()).toISOString();
  }

  private log(line: string): void {
    this.o.log?.(`[loader] ${line}`);
  }

  /**
   * The boot decision alone (no process): reads pointers, checks the bundles they name,
   * persists the new state, clears candidate.json. Also what a test calls "next start".
   */
  async decide(): Promise<{ launch: Launch; bundleDir: string; state: LoaderState }> {
    const state = this.store.readState();
    const candidate = this.store.readCandidate();
    const names = new Set(
      [candidate, state.current, state.previous, state.trial?.version].filter(
        (v): v is string => typeof v === 'string' && !state.refused.includes(v),
      ),
    );
    const verdicts = new Map<string, LaunchCheck>();
    for (const v of names) verdicts.set(v, await this.verify(v));
    const step = loaderStep(
      state,
      { type: 'boot', candidate, verify: (v) => verdicts.get(v) ?? { ok: false, reason: 'not checked', refuse: false }, at: this.now() },
      this.o,
    );
    if (step.type !== 'launch') throw new Error('boot must launch');
    this.store.writeState(step.state);
    if (step.clearCandidatePointer) this.store.clearCandidate();
    const bundleDir = step.launch.kind === 'factory' ? this.o.factoryDir : this.layout.bundleDir(step.launch.version);
    return { launch: step.launch, bundleDir, state: step.state };
  }

  /**
   * The launch-time check of releases/<v>/ (core/update/bundle-check.ts: signature by the
   * image's keyring, exact file set, every sha256, no symlink, minimum runtime), plus an entry
   * point for this host.
   */
  async verify(version: string): Promise<LaunchCheck> {
    const t0 = performance.now();
    try {
      const runtime = this.o.runtimeVersion === null ? null : { host: this.host, version: this.o.runtimeVersion };
      const { descriptor } = await verifyInstalledRelease(this.o.dataDir, version, { verifier: this.o.verifier, runtime });
      if (entryFor(descriptor, this.host) === null) throw new BundleCheckError(`no entry point for the ${this.host} host`, true);
      this.log(`release ${version} verified in ${(performance.now() - t0).toFixed(0)} ms`);
      return { ok: true };
    } catch (e) {
      const reason = (e as Error).message.replaceAll(this.o.dataDir, '<data>');
      const refuse = !(e instanceof BundleCheckError && e.mayBecomeStartable);
      this.log(`release ${version} ${refuse ? 'refused' : 'skipped'}: ${reason}`);
      return { ok: false, reason, refuse };
    }
  }

  /**
   * The factory bundle's version when its descriptor does not pass this loader's check (a
   * descriptor from a newer or older bundler, say): only its `version` field is read, so the
   * backend is still told the real version. `factory-unknown` when even that is unreadable.
   */
  private async factoryVersion(bundleDir: string): Promise<string> {
    try {
      const { version } = FactoryVersionOnly.parse(JSON.parse(await readFile(join(bundleDir, BUNDLE_DESCRIPTOR_FILE), 'utf8')));
      return version;
    } catch (e) {
      this.log(`factory bundle version unreadable: ${(e as Error).message}`);
      return 'factory-unknown';
    }
  }

  /** Decide, start, supervise until the process exits (or is killed as hung). */
  async runOnce(): Promise<LaunchOutcome> {
    const { launch, bundleDir } = await this.decide();
    // The factory bundle is in the read-only root: trusted without a manifest.
    const descriptor = await checkBundleDir(bundleDir, { hashes: false }).catch((e: unknown) => {
      this.log(`bundle check of ${bundleDir} failed: ${(e as Error).message}`);
      return null;
    });
    const entry = join(bundleDir, (descriptor && entryFor(descriptor, this.host)) ?? (this.host === 'node' ? 'node-main.js' : 'main.js'));
    const version = launch.kind === 'factory' ? (descriptor?.version ?? (await this.factoryVersion(bundleDir))) : launch.version;
    this.log(`starting ${launch.kind} ${version}`);
    const app = this.o.launcher.launch(entry, {
      AIRPANEL_BUNDLE_VERSION: version,
      AIRPANEL_LAUNCH: launch.kind,
      AIRPANEL_DATA_DIR: this.o.dataDir,
      // For the image's packaged Electron, which ignores a script path on its command line
      // and runs runtime-app/main.mjs instead: that file starts this entry.
      AIRPANEL_BUNDLE_ENTRY: entry,
      // For runtime-app, which checks this directory again before it imports anything from it.
      AIRPANEL_BUNDLE_DIR: bundleDir,
      // How the previous launch of this loader ended: the app tells the backend why it restarted
      // (core/restart-reason.ts). Absent on the loader's first launch.
      ...(this.previousExit === null ? {} : { AIRPANEL_PREVIOUS_EXIT: this.previousExit }),
    });
    this.current = app;
    try {
      if (launch.kind !== 'trial') return await this.supervise(launch, bundleDir, app, 'exited');
      const deadlineMs = this.o.healthDeadlineMs ?? 60_000;
      let timer: NodeJS.Timeout | undefined;
      const verdict = await new Promise<'healthy' | 'exited' | 'deadline'>((resolve) => {
        app.onMessage((msg) => {
          if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'airpanel/healthy') resolve('healthy');
        });
        void app.exited.then(() => resolve('exited'));
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
      });
      clearTimeout(timer);
      if (verdict === 'healthy') {
        const step = loaderStep(this.store.readState(), { type: 'healthy', at: this.now() }, this.o);
        this.store.writeState(step.state);
        this.log(`committed ${version}`);
        return await this.supervise(launch, bundleDir, app, 'committed-then-exited');
      }
      if (verdict === 'deadline') app.kill();
      const exit = await app.exited;
      const reason = verdict === 'deadline' ? 'hung' : 'crashed';
      const detail =
        verdict === 'deadline'
          ? `no health report within ${deadlineMs} ms`
          : `exited before healthy (code ${exit.code}, signal ${exit.signal})`;
      const step = loaderStep(this.store.readState(), { type: 'failed', reason, detail, at: this.now() }, this.o);
      this.store.writeState(step.state);
      this.log(`rolled back ${version}: ${detail}`);
      return { launch, bundleDir, result: reason === 'hung' ? 'rolled-back-hang' : 'rolled-back-crash', exit, state: step.state };
    } finally {
      this.current = null;
    }
  }

  /**
   * Waits for a launch that is not (or no longer) on trial to end and records how: a crash
   * counts towards giving the bundle up (crash loop); a clean exit (code 0), a requested
   * restart (RESTART_EXIT_CODE: the operator's `restart` command) or one the loader caused by
   * stopping does not.
   */
  private async supervise(
    launch: Launch,
    bundleDir: string,
    app: LaunchedApp,
    result: 'exited' | 'committed-then-exited',
  ): Promise<LaunchOutcome> {
    // Liveness: an app that has sent one `airpanel/alive` (the hosts send it with every
    // systemd WATCHDOG=1) must send the next within livenessMs, or it is killed as hung and
    // that counts as a crash. An app that never sends one is not held to it.
    const livenessMs = this.o.livenessMs ?? 0;
    let hung = false;
    let timer: NodeJS.Timeout | undefined;
    if (livenessMs > 0) {
      app.onMessage((msg) => {
        if (typeof msg !== 'object' || msg === null || (msg as { type?: unknown }).type !== 'airpanel/alive') return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          hung = true;
          this.log(
            `${launch.kind === 'factory' ? 'factory bundle' : launch.version} sent no alive message for ${livenessMs} ms: killing it as hung`,
          );
          app.kill();
        }, livenessMs);
      });
    }
    const exit = await app.exited;
    clearTimeout(timer);
    const cleanExit = (exit.code === 0 || exit.code === RESTART_EXIT_CODE) && exit.signal === null;
    const crashed = hung || (!this.stopped && !cleanExit);
    const detail = hung ? `hung: no alive message for ${livenessMs} ms` : `code ${exit.code}, signal ${exit.signal}`;
    const step = loaderStep(this.store.readState(), { type: 'exited', crashed, detail, at: this.now() }, this.o);
    this.store.writeState(step.state);
    if (step.type === 'fell-back') this.log(`gave up ${step.state.lastOutcome?.version}: ${step.state.lastOutcome?.reason}`);
    return { launch, bundleDir, result: step.type === 'fell-back' ? 'fell-back' : result, exit, state: step.state };
  }

  /** Runs bundles forever (until stop()): what systemd starts on a panel. */
  async run(onLaunch?: (o: LaunchOutcome) => void): Promise<void> {
    this.stopped = false;
    while (!this.stopped) {
      const outcome = await this.runOnce();
      this.previousExit = `${outcome.result}: code ${outcome.exit.code}, signal ${outcome.exit.signal}`;
      onLaunch?.(outcome);
      if (this.stopped) break;
      if (outcome.result === 'exited' || outcome.result === 'committed-then-exited' || outcome.result === 'fell-back') {
        await new Promise((r) => setTimeout(r, this.o.restartDelayMs ?? 1000));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.current?.kill();
  }
}
