import { readFile } from 'node:fs/promises';
import {
  Ed25519Verifier,
  GotOtaHttpClient,
  OtaUpdater,
  type OtaUpdaterOptions,
  type PartialFileWriter,
  type ReleaseKeyPair,
} from '@airpanel/panel/core/update/index';
import type { Scheduler, TimerHandle } from '@airpanel/panel/core/clock';

/** The real timers for short waits (download retries); scheduled checks are started by the tests. */
export const timerScheduler: Scheduler = {
  setTimeout: (cb, ms): TimerHandle => setTimeout(cb, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface TestPanelOptions {
  dataDir: string;
  manifestUrl: string;
  trusted: ReleaseKeyPair[];
  runningVersion?: string;
  channel?: string;
  nowMs?: number;
  buildTimeMs?: number;
  writer?: PartialFileWriter;
  panelId?: string;
  /** Default electron (with runtimeVersion 45.4.1). */
  runtimeHost?: 'electron' | 'node';
  runtimeVersion?: string;
  restarts?: string[];
  downloadAttempts?: number;
  /** Anything else the updater takes (report URL, an HTTP client with credentials, limits), over the defaults above. */
  options?: Partial<OtaUpdaterOptions>;
}

/** The real updater as a panel would build it, with a clock and restart hook a test controls. */
export function testUpdater(o: TestPanelOptions): OtaUpdater {
  const opts: OtaUpdaterOptions = {
    dataDir: o.dataDir,
    manifestUrl: o.manifestUrl,
    reportUrl: null,
    panelId: o.panelId ?? 'panel-0001',
    channel: o.channel ?? 'stable',
    runtimeHost: o.runtimeHost ?? 'electron',
    runtimeVersion: o.runtimeVersion ?? '45.4.1',
    runningVersion: o.runningVersion ?? '1.0.0',
    launchKind: 'current',
    buildTimeMs: o.buildTimeMs ?? Date.parse('2026-01-01T00:00:00Z'),
    verifier: new Ed25519Verifier(o.trusted.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }))),
    http: new GotOtaHttpClient({ timeoutMs: 5000 }),
    wallClock: { now: () => o.nowMs ?? Date.now() },
    scheduler: timerScheduler,
    random: () => 0.5,
    requestRestart: async () => {
      o.restarts?.push('restart');
    },
    ...(o.writer ? { writer: o.writer } : {}),
    downloadAttempts: o.downloadAttempts ?? 1,
    retryDelayMs: 10,
    ...o.options,
  };
  return new OtaUpdater(opts);
}

export async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}
