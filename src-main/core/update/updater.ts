import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { UpdateReport } from '@airpanel/contract';
import {
  evaluateRelease,
  type ReleasePolicyOptions,
  type RuntimeHost,
  type SignedManifest,
  type SignatureVerifier,
} from '@airpanel/contract/release';
import { systemMonotonicClock, type MonotonicClock, type Scheduler, type TimerHandle, type WallClock } from '../clock.js';
import type { UpdateChecker } from '../commands.js';
import type { Logger } from '@airpanel/node-support/logger';
import {
  DEFAULT_DOWNLOAD_LIMITS,
  DownloadError,
  downloadTransferLimits,
  downloadWithResume,
  NodePartialFileWriter,
  type DownloadLimits,
  type DownloadResult,
  type PartialFileWriter,
} from './download.js';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { TransferLimitError, type JsonFetchLimits, type OtaHttpClient } from './http.js';
import { installBundle, pruneReleases, readLoaderState } from './install.js';
import { releaseLayout, type ReleaseLayout } from './layout.js';
import { INITIAL_UPDATE_PHASE, reportOfPhase, type UpdatePhase } from './update-phase.js';

/** How the loader started this bundle (env `AIRPANEL_LAUNCH`, set by src-main/loader). */
export type LaunchKind = 'trial' | 'current' | 'previous' | 'factory' | 'unsupervised';

export interface OtaUpdaterOptions {
  dataDir: string;
  /** The channel's signed manifest, e.g. `<api>/api/v1/update/channels/stable/manifest`. */
  manifestUrl: string;
  /** Where the panel posts its update report (the releases plugin), or null. */
  reportUrl: string | null;
  panelId: string;
  channel: string;
  /** Which kiosk host runs this updater: a release names its minimum runtime per host. */
  runtimeHost: RuntimeHost;
  /** That host's runtime version: Electron's on the Electron host, Node's on the Node host. */
  runtimeVersion: string;
  /** Bundle version running now (from its bundle.json, or the factory version). */
  runningVersion: string;
  launchKind: LaunchKind;
  /** The image's build time: a wall clock before it is treated as unsynced (see policy.ts). */
  buildTimeMs: number;
  /**
   * The image's counter floor and factory version (image-floor.ts, from the read-only root):
   * a wiped panel never takes a manifest below them. Default: none.
   */
  counterFloor?: number;
  factoryVersion?: string;
  verifier: SignatureVerifier;
  http: OtaHttpClient;
  /** Default: the real file system. Tests inject a full disk here. */
  writer?: PartialFileWriter;
  wallClock: WallClock;
  scheduler: Scheduler;
  /** [0,1), for the check jitter. */
  random: () => number;
  /** Mean time between scheduled checks. Default 6 h. */
  checkIntervalMs?: number;
  /** Each interval is drawn uniformly from mean × (1 ± jitter). Default 0.5. */
  jitter?: number;
  /**
   * Called once a candidate is installed: restart the app so the loader starts it on trial
   * (HostActions.restartApp on a panel; the stub app exits).
   */
  requestRestart: () => Promise<void>;
  logger?: Logger;
  policy?: ReleasePolicyOptions;
  /** Download attempts within one check when the connection is cut (each resumes). Default 3. */
  downloadAttempts?: number;
  /** Pause before the n-th resume: n × this. Default 2 s. */
  retryDelayMs?: number;
  /** Bounds on the manifest fetch. Default DEFAULT_MANIFEST_LIMITS. */
  manifestLimits?: JsonFetchLimits;
  /** Bounds on the bundle download. Default DEFAULT_DOWNLOAD_LIMITS (download.ts). */
  downloadLimits?: DownloadLimits;
  /** After this long without a valid manifest the report says so. Default 3 days. */
  feedSilenceAlertMs?: number;
  /** Measures how long a check has run (a stuck one is abandoned). Default: performance.now. */
  monotonicClock?: MonotonicClock;
}

/** A manifest is about 1 KiB: 64 KiB is generous and still bounds what a feed can push. */
export const DEFAULT_MANIFEST_LIMITS: JsonFetchLimits = {
  maxBytes: 64 * 1024,
  deadlineMs: 60_000,
  minBytesPerSecond: 64,
  rateWindowMs: 20_000,
};

/** `<data>/releases/update-state.json`, written by the updater only. */
const UpdateState = z.object({
  highestCounter: z.number().int().min(0),
  /** The last time a manifest passed the signature and freshness checks. */
  lastValidManifestAt: z.string().datetime().optional(),
  /** When this panel started looking for manifests (the start of silence before the first). */
  watchingSince: z.string().datetime().optional(),
});
type UpdateState = z.infer<typeof UpdateState>;

/** The check in progress: every caller of checkNow shares it until it ends or is abandoned. */
interface CheckInFlight {
  promise: Promise<string>;
  abort: AbortController;
  /** Monotonic ms after which the check counts as stuck; moved on when the download starts. */
  deadline: number;
}

/** Bookkeeping after the network parts (fs, verification, restart request) of a check. */
const CHECK_SLACK_MS = 5 * 60_000;

/**
 * On trial, how often the loader's state is read to notice its commit: the loader commits
 * when this run reports healthy and does not tell the app, and the next check may be hours away.
 */
export const TRIAL_WATCH_MS = 5_000;

/**
 * The panel's updater: the `UpdateChecker` behind the `check-update` command, plus a jittered
 * schedule. Trust decisions are common/release/policy.ts; downloads resume with Range and
 * are sha512-checked; installs are atomic (install.ts); starting, committing and rolling back
 * a candidate are the loader's job (src-main/loader).
 */
export class OtaUpdater implements UpdateChecker {
  private readonly layout: ReleaseLayout;
  private readonly writer: PartialFileWriter;
  /** The phase now (update-phase.ts); `report` is what it was last published as. */
  private phase: UpdatePhase = INITIAL_UPDATE_PHASE;
  private report: UpdateReport;
  private readonly listeners = new Set<(r: UpdateReport) => void>();
  private inFlight: CheckInFlight | null = null;
  private state: UpdateState | null = null;
  private readonly mono: MonotonicClock;
  private timer: TimerHandle | null = null;
  private trialTimer: TimerHandle | null = null;
  private stopped = true;
  private lastPostedKey: string | null = null;
  /** Bytes that came over the network for bundles, for benchmarks and logs. */
  bytesDownloaded = 0;

  constructor(private readonly o: OtaUpdaterOptions) {
    this.layout = releaseLayout(o.dataDir);
    this.writer = o.writer ?? new NodePartialFileWriter();
    this.mono = o.monotonicClock ?? systemMonotonicClock;
    this.report = { phase: 'idle', targetVersion: null, progress: null, detail: null, at: this.iso() };
  }

  /** The report for PanelStatus.update. */
  getReport(): UpdateReport {
    return this.report;
  }

  onReport(listener: (r: UpdateReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reports what the loader did at this start, tidies old releases, starts the schedule. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.loadState();
    const ls = await readLoaderState(this.layout);
    const out = ls.lastOutcome;
    if (this.o.launchKind === 'trial') {
      this.enter({ type: 'trial', version: this.o.runningVersion }, 'the loader started this bundle on trial');
      this.watchTrial();
    } else if (out?.kind === 'rolled-back' || out?.kind === 'refused' || out?.kind === 'fell-back') {
      // Rolled back, refused at launch (not what was signed, or not for this runtime) or given
      // up after a crash loop: the status says which version and why, and what runs instead.
      this.enter(
        { type: 'rolled-back', version: out.version, outcome: out.kind, reason: out.reason, at: out.at, running: this.o.runningVersion },
        `the loader's last outcome: ${out.kind}`,
      );
    } else if (out?.kind === 'committed' && out.version === this.o.runningVersion) {
      this.enter({ type: 'committed', version: out.version, at: out.at }, "the loader's last outcome: committed");
    }
    if (this.o.launchKind !== 'trial') {
      await mkdir(this.layout.releasesDir, { recursive: true });
      await pruneReleases(this.layout, [this.o.runningVersion]).catch((e: unknown) =>
        this.o.logger?.warn('ota: prune failed', { error: String(e) }),
      );
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.o.scheduler.clearTimeout(this.timer);
    if (this.trialTimer) this.o.scheduler.clearTimeout(this.trialTimer);
    this.timer = null;
    this.trialTimer = null;
  }

  /** While on trial: `committed` as soon as the loader's state says so (TRIAL_WATCH_MS). */
  private watchTrial(): void {
    if (this.stopped) return;
    this.trialTimer = this.o.scheduler.setTimeout(() => {
      this.trialTimer = null;
      if (this.stopped) return;
      void this.stillOnTrial()
        .then((onTrial) => onTrial && this.watchTrial())
        .catch(() => this.watchTrial());
    }, TRIAL_WATCH_MS);
  }

  /**
   * `check-update`: runs a check now, or joins the one in progress. A check past its
   * deadline (every transfer is bounded, so only a bug or a hung host hook gets there) is
   * aborted and left behind: it never blocks the checks after it.
   */
  checkNow(): Promise<string> {
    if (this.inFlight && this.mono.now() > this.inFlight.deadline) {
      this.o.logger?.warn('ota: abandoning a check past its deadline');
      this.inFlight.abort.abort(new Error('check abandoned: past its deadline'));
      this.inFlight = null;
    }
    if (!this.inFlight) {
      const abort = new AbortController();
      const entry: CheckInFlight = {
        abort,
        deadline: this.mono.now() + this.manifestLimits.deadlineMs + CHECK_SLACK_MS,
        promise: Promise.resolve(''),
      };
      entry.promise = this.check(entry).finally(() => {
        if (this.inFlight === entry) this.inFlight = null;
      });
      this.inFlight = entry;
    }
    return this.inFlight.promise;
  }

  private get manifestLimits(): JsonFetchLimits {
    return this.o.manifestLimits ?? DEFAULT_MANIFEST_LIMITS;
  }

  /** The next check is scheduled when this one fires, not when it ends: a stuck check cannot stop the schedule. */
  private schedule(): void {
    if (this.stopped) return;
    const mean = this.o.checkIntervalMs ?? 6 * 3600_000;
    const jitter = Math.min(1, Math.max(0, this.o.jitter ?? 0.5));
    const delay = mean * (1 - jitter + 2 * jitter * this.o.random());
    this.timer = this.o.scheduler.setTimeout(() => {
      this.timer = null;
      this.schedule();
      this.checkNow()
        .then((r) => this.o.logger?.info(`ota: scheduled check: ${r}`))
        .catch((e: unknown) => this.o.logger?.warn('ota: scheduled check failed', { error: String(e) }));
    }, delay);
  }

  /**
   * Started on trial and not yet committed by the loader (it commits once we report healthy).
   * Once it has committed this version, the phase becomes `committed`.
   */
  private async stillOnTrial(): Promise<boolean> {
    if (this.o.launchKind !== 'trial') return false;
    const ls = await readLoaderState(this.layout);
    if (ls.trial?.version === this.o.runningVersion) return true;
    // Not on trial and not current either: rolled back, and the loader is ending this run.
    if (this.phase.type === 'trial' && ls.current === this.o.runningVersion) {
      const out = ls.lastOutcome;
      const at = out?.kind === 'committed' && out.version === this.o.runningVersion ? out.at : null;
      this.enter({ type: 'committed', version: this.o.runningVersion, at }, 'no longer on trial: the loader committed it');
    }
    return false;
  }

  private async check(entry: CheckInFlight): Promise<string> {
    if (await this.stillOnTrial()) return `on trial with ${this.o.runningVersion}: no update until committed`;
    // A check that finds nothing new puts the previous phase back: the backend keeps seeing
    // what the last real update did, not "checked, nothing new".
    const before = { phase: this.phase, report: this.report };
    this.enter({ type: 'checking' }, 'check started');
    try {
      const r = await this.checkInner(entry);
      if (this.phase.type === 'checking') this.restore(before, r);
      return r;
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      this.enter({ type: 'failed', version: this.report.targetVersion, error: detail }, 'check failed');
      throw e instanceof Error ? e : new Error(detail);
    }
  }

  private async checkInner(entry: CheckInFlight): Promise<string> {
    const state = await this.loadState();
    let res: { status: number; body: unknown };
    try {
      res = await this.o.http.getJson(this.o.manifestUrl, this.manifestLimits, entry.abort.signal);
    } catch (e) {
      const why = entry.abort.signal.aborted
        ? (entry.abort.signal.reason as Error).message
        : `${e instanceof TransferLimitError ? `${e.code}: ` : ''}${(e as Error).message}`;
      throw new Error(`manifest: ${why}`);
    }
    if (res.status === 404 || res.status === 204) {
      return 'no release published (or channel paused)';
    }
    if (res.status !== 200) throw new Error(`manifest: HTTP ${res.status}`);

    const highest = Math.max(state.highestCounter, this.o.counterFloor ?? 0);
    const loader = await readLoaderState(this.layout);
    const verdict = evaluateRelease(
      res.body,
      this.o.verifier,
      {
        panelId: this.o.panelId,
        channel: this.o.channel,
        runtime: { host: this.o.runtimeHost, version: this.o.runtimeVersion },
        runningVersion: this.o.runningVersion,
        highestCounter: highest,
        refusedVersions: loader.refused,
        buildTimeMs: this.o.buildTimeMs,
        ...(this.o.factoryVersion !== undefined ? { factoryVersion: this.o.factoryVersion } : {}),
      },
      this.o.wallClock.now(),
      this.o.policy,
    );
    if (verdict.kind !== 'reject') await this.saveState({ lastValidManifestAt: this.iso() });

    switch (verdict.kind) {
      case 'reject':
        this.enter(
          { type: 'failed', version: null, error: `manifest rejected: ${verdict.reason}: ${verdict.detail}` },
          'manifest rejected',
        );
        throw new Error(`manifest rejected (${verdict.reason}): ${verdict.detail}`);
      case 'current':
        await this.saveState({ highestCounter: verdict.signed.manifest.counter });
        return `up to date (${this.o.runningVersion})`;
      case 'skip': {
        const m = verdict.signed.manifest;
        const text =
          verdict.reason === 'already-seen'
            ? `up to date (${this.o.runningVersion}; ${m.version} already handled)`
            : `${m.version} skipped: ${verdict.reason}`;
        if (verdict.reason !== 'already-seen') this.enter({ type: 'idle', skipped: { version: m.version, reason: verdict.reason } }, text);
        return text;
      }
      case 'install':
        return this.install(verdict.signed, entry);
    }
  }

  private async install(signed: SignedManifest, entry: CheckInFlight): Promise<string> {
    const m = signed.manifest;
    await mkdir(this.layout.downloadDir, { recursive: true });
    await this.removeOtherDownloads(m.version);
    const part = join(this.layout.downloadDir, `${m.version}.tar.gz.part`);
    const url = new URL(m.bundle.url, this.o.manifestUrl).toString();
    this.enter({ type: 'downloading', version: m.version, total: m.bundle.size, received: null }, `release ${m.version} to install`);
    let lastStep = -1;
    let result: DownloadResult | null = null;
    const attempts = Math.max(1, this.o.downloadAttempts ?? 3);
    const limits = this.o.downloadLimits ?? DEFAULT_DOWNLOAD_LIMITS;
    const retryDelay = this.o.retryDelayMs ?? 2000;
    entry.deadline =
      this.mono.now() +
      attempts * downloadTransferLimits(m.bundle.size, limits).deadlineMs +
      retryDelay * attempts * attempts +
      CHECK_SLACK_MS;
    for (let attempt = 1; result === null; attempt++) {
      try {
        result = await downloadWithResume(this.o.http, this.writer, {
          url,
          dest: part,
          size: m.bundle.size,
          sha512: m.bundle.sha512,
          limits,
          signal: entry.abort.signal,
          onProgress: (received, total) => {
            const step = Math.floor((received / total) * 20);
            if (step !== lastStep) {
              lastStep = step;
              this.enter({ type: 'downloading', version: m.version, total, received }, 'download progress');
            }
          },
        });
      } catch (e) {
        const detail = e instanceof DownloadError ? `download ${e.code}: ${e.message}` : `download: ${(e as Error).message}`;
        // A cut connection resumes at once (a few times); anything else waits for the next check.
        const transient = !(e instanceof DownloadError) || e.code === 'incomplete' || e.code === 'io';
        if (!transient || attempt >= attempts) {
          this.enter(
            { type: 'failed', version: m.version, error: detail },
            attempt >= attempts ? 'download failed on its last attempt' : 'download failed: not resumable',
          );
          throw new Error(detail);
        }
        this.o.logger?.info(`ota: ${detail}; resuming (attempt ${attempt + 1} of ${attempts})`);
        await new Promise<void>((r) => this.o.scheduler.setTimeout(r, retryDelay * attempt));
      }
    }
    this.bytesDownloaded += result.transferred;
    this.enter({ type: 'verifying', version: m.version, resumedFrom: result.resumedFrom }, 'downloaded; sha512 matches the manifest');
    this.enter({ type: 'installing', version: m.version }, 'verified');
    try {
      await installBundle(this.layout, part, signed, new Date(this.o.wallClock.now()));
    } catch (e) {
      await rm(part, { force: true });
      const detail = `install: ${(e as Error).message}`;
      this.enter({ type: 'failed', version: m.version, error: detail }, 'install failed');
      throw new Error(detail);
    }
    await rm(part, { force: true });
    await this.saveState({ highestCounter: m.counter });
    this.enter({ type: 'pending-restart', version: m.version }, 'installed');
    await this.o.requestRestart();
    return `${m.version} installed, restarting`;
  }

  private async removeOtherDownloads(keepVersion: string): Promise<void> {
    for (const f of await readdir(this.layout.downloadDir)) {
      if (!f.startsWith(`${keepVersion}.`)) await rm(join(this.layout.downloadDir, f), { force: true });
    }
  }

  /** update-state.json, read once (it lives on /data: a bad one counts as empty; the image's floor still holds). */
  private async loadState(): Promise<UpdateState> {
    if (this.state) return this.state;
    let stored: UpdateState = { highestCounter: 0 };
    try {
      stored = UpdateState.parse(JSON.parse(await readFile(this.layout.updateStateFile, 'utf8')));
    } catch {
      stored = { highestCounter: 0 };
    }
    this.state = stored;
    if (stored.watchingSince === undefined) await this.saveState({ watchingSince: this.iso() });
    return this.state;
  }

  /** Merges `change` in and writes the file atomically; the counter only ever grows. */
  private async saveState(change: Partial<UpdateState>): Promise<void> {
    const current = this.state ?? { highestCounter: 0 };
    const next: UpdateState = { ...current, ...change, highestCounter: Math.max(current.highestCounter, change.highestCounter ?? 0) };
    this.state = next;
    await mkdir(this.layout.releasesDir, { recursive: true });
    await writeFileAtomic(this.layout.updateStateFile, `${JSON.stringify(next)}\n`, { mode: 0o644 });
  }

  /** The start of the silence when no valid manifest came for longer than the alert threshold, else null. */
  private noValidManifestSince(): string | null {
    const s = this.state;
    const since = s?.lastValidManifestAt ?? s?.watchingSince;
    if (since === undefined) return null;
    return this.o.wallClock.now() - Date.parse(since) > (this.o.feedSilenceAlertMs ?? 3 * 86_400_000) ? since : null;
  }

  /** Back to the phase before a check that found nothing new, keeping that report's time. */
  private restore(before: { phase: UpdatePhase; report: UpdateReport }, outcome: string): void {
    this.enter(before.phase, `check ended: ${outcome}`);
    this.report = { ...before.report, noValidManifestSince: this.report.noValidManifestSince ?? null };
  }

  /** Every phase change goes through here, with its reason; the report follows the phase. */
  private enter(next: UpdatePhase, reason: string): void {
    if (next.type !== this.phase.type) this.o.logger?.debug('ota: phase', { from: this.phase.type, to: next.type, reason });
    this.phase = next;
    const { phase, targetVersion, progress, detail } = reportOfPhase(next);
    const silentSince = this.noValidManifestSince();
    this.report = { phase, targetVersion, progress, detail, at: this.iso(), noValidManifestSince: silentSince };
    for (const l of this.listeners) l(this.report);
    const key = `${phase}|${silentSince ?? ''}`;
    if (this.o.reportUrl && phase !== 'checking' && key !== this.lastPostedKey) {
      this.lastPostedKey = key;
      const body = { panelId: this.o.panelId, runningVersion: this.o.runningVersion, channel: this.o.channel, report: this.report };
      this.o.http
        .postJson(this.o.reportUrl, body)
        .catch((e: unknown) => this.o.logger?.debug('ota: report not sent', { error: String(e) }));
    }
  }

  private iso(): string {
    return new Date(this.o.wallClock.now()).toISOString();
  }
}
