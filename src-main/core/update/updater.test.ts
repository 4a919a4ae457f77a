import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scheduler, TimerHandle } from '../clock.js';
import { Ed25519Verifier, generateReleaseKey, signManifest } from './keys.js';
import { GotOtaHttpClient } from './http.js';
import { OtaUpdater, TRIAL_WATCH_MS, type OtaUpdaterOptions } from './updater.js';
import { releaseLayout } from './layout.js';
import { INITIAL_LOADER_STATE } from '@airpanel/contract/release';

/** Fake scheduler (replaces the timer scheduler): records delays, fires on demand. */
class RecordingFakeScheduler implements Scheduler {
  readonly delays: number[] = [];
  private pending: (() => void) | null = null;
  setTimeout(cb: () => void, ms: number): TimerHandle {
    this.delays.push(ms);
    this.pending = cb;
    return {};
  }
  clearTimeout(): void {
    this.pending = null;
  }
  fire(): void {
    const cb = this.pending;
    this.pending = null;
    cb?.();
  }
}

describe('OtaUpdater (real HTTP manifest server)', () => {
  const key = generateReleaseKey();
  let dir: string;
  let server: http.Server;
  let url: string;
  let requests = 0;
  let body: unknown = null;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-updater-'));
    requests = 0;
    body = null;
    server = http.createServer((_req, res) => {
      requests++;
      if (body === null) res.writeHead(404).end('{}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/manifest`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const make = (scheduler: Scheduler, random = () => 0.5, overrides: Partial<OtaUpdaterOptions> = {}) =>
    new OtaUpdater({
      dataDir: dir,
      manifestUrl: url,
      reportUrl: null,
      panelId: 'panel-0001',
      channel: 'stable',
      runtimeHost: 'electron',
      runtimeVersion: '45.4.1',
      runningVersion: '1.0.0',
      launchKind: 'current',
      buildTimeMs: 0,
      verifier: new Ed25519Verifier([{ keyId: key.keyId, publicKey: key.publicKey }]),
      http: new GotOtaHttpClient(),
      wallClock: { now: () => Date.now() },
      scheduler,
      random,
      checkIntervalMs: 1000,
      jitter: 0.5,
      requestRestart: async () => undefined,
      ...overrides,
    });

  it('checks on a jittered schedule within mean × (1 ± jitter), and again after each check', async () => {
    const s = new RecordingFakeScheduler();
    let r = 0;
    const values = [0, 0.999, 0.25];
    const u = make(s, () => values[r++ % values.length]!);
    await u.start();
    expect(s.delays[0]).toBe(500);
    s.fire();
    await vi.waitFor(() => expect(requests).toBe(1));
    expect(s.delays[1]).toBeCloseTo(1499, 0);
    u.stop();
  });

  it('reports what the loader refused at launch or gave up after a crash loop, with what runs instead', async () => {
    const layout = releaseLayout(dir);
    await mkdir(layout.releasesDir, { recursive: true });
    const outcome = (kind: 'refused' | 'fell-back', reason: string) => ({
      kind,
      version: '2.0.0',
      reason,
      at: '2026-01-01T00:00:00.000Z',
      seq: 3,
    });
    for (const [o, expected] of [
      [
        outcome('fell-back', 'crashed 3 times within 10 min (last: code 1, signal null)'),
        'fell back: crashed 3 times within 10 min (last: code 1, signal null) (at 2026-01-01T00:00:00.000Z); running 1.0.0',
      ],
      [
        outcome('refused', 'refused at launch: main.js does not match bundle.json'),
        'refused at launch: main.js does not match bundle.json (at 2026-01-01T00:00:00.000Z); running 1.0.0',
      ],
    ] as const) {
      await writeFile(
        layout.loaderStateFile,
        JSON.stringify({ ...INITIAL_LOADER_STATE, current: '2.0.0', refused: ['2.0.0'], lastOutcome: o, recent: [o] }),
      );
      const u = make(new RecordingFakeScheduler());
      await u.start();
      expect(u.getReport()).toMatchObject({ phase: 'rolled-back', targetVersion: '2.0.0', detail: expected });
      u.stop();
    }
  });

  it('on trial, reports committed within TRIAL_WATCH_MS of the loader committing it, without waiting for a check', async () => {
    const layout = releaseLayout(dir);
    await mkdir(layout.releasesDir, { recursive: true });
    const loaderState = (o: object) => writeFile(layout.loaderStateFile, JSON.stringify({ ...INITIAL_LOADER_STATE, ...o }));
    await loaderState({ current: '1.0.0', trial: { version: '2.0.0', attemptsLeft: 0 } });
    // Every timer kept, fired on demand (a stand-in for the timer scheduler).
    const timers: { ms: number; cb: () => void; cleared: boolean }[] = [];
    const scheduler: Scheduler = {
      setTimeout: (cb, ms) => {
        const t = { ms, cb, cleared: false };
        timers.push(t);
        return t;
      },
      clearTimeout: (handle) => void ((handle as { cleared: boolean }).cleared = true),
    };
    const fireTrialWatch = async (u: OtaUpdater) => {
      const t = timers.find((x) => x.ms === TRIAL_WATCH_MS && !x.cleared);
      if (!t) throw new Error('no trial watch waiting');
      t.cleared = true;
      t.cb();
      // The watch reads the loader's state file: done once it has set the next timer or left the trial.
      await vi.waitFor(() =>
        expect(timers.some((x) => x.ms === TRIAL_WATCH_MS && !x.cleared) || u.getReport().phase !== 'trial').toBe(true),
      );
    };
    const reports: string[] = [];
    const u = make(scheduler, () => 0.5, { launchKind: 'trial', runningVersion: '2.0.0' });
    u.onReport((r) => reports.push(r.phase));
    await u.start();
    expect(u.getReport()).toMatchObject({ phase: 'trial', targetVersion: '2.0.0' });
    await fireTrialWatch(u);
    expect(u.getReport().phase).toBe('trial');

    const at = '2026-12-03T10:00:00.000Z';
    const committed = { kind: 'committed', version: '2.0.0', reason: 'healthy', at, seq: 1 };
    await loaderState({ current: '2.0.0', previous: '1.0.0', lastOutcome: committed, recent: [committed] });
    await fireTrialWatch(u);
    expect(u.getReport()).toMatchObject({ phase: 'committed', targetVersion: '2.0.0' });
    expect(reports.at(-1)).toBe('committed');
    expect(timers.filter((x) => x.ms === TRIAL_WATCH_MS && !x.cleared)).toEqual([]);
    expect(requests).toBe(0);
    u.stop();
  });

  it('concurrent check-update commands share one check; nothing published is not a failure', async () => {
    const u = make(new RecordingFakeScheduler());
    const [a, b] = await Promise.all([u.checkNow(), u.checkNow()]);
    expect(a).toBe(b);
    expect(a).toMatch(/no release/);
    expect(requests).toBe(1);
    expect(u.getReport().phase).toBe('idle');
  });

  it('a stuck check (request held open, no limit reached) is abandoned past its deadline: later checks are not blocked', async () => {
    let mono = 0;
    let hold = true;
    const held: http.ServerResponse[] = [];
    server.removeAllListeners('request');
    server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      requests++;
      if (hold) held.push(res);
      else res.writeHead(404).end('{}');
    });
    const u = new OtaUpdater({
      dataDir: dir,
      manifestUrl: url,
      reportUrl: null,
      panelId: 'panel-0001',
      channel: 'stable',
      runtimeHost: 'electron',
      runtimeVersion: '45.4.1',
      runningVersion: '1.0.0',
      launchKind: 'current',
      buildTimeMs: 0,
      verifier: new Ed25519Verifier([{ keyId: key.keyId, publicKey: key.publicKey }]),
      http: new GotOtaHttpClient({ timeoutMs: 3_600_000 }),
      wallClock: { now: () => Date.now() },
      scheduler: new RecordingFakeScheduler(),
      random: () => 0.5,
      requestRestart: async () => undefined,
      monotonicClock: { now: () => mono },
      manifestLimits: { maxBytes: 65536, deadlineMs: 3_600_000, minBytesPerSecond: 0, rateWindowMs: 3_600_000 },
    });
    const first = u.checkNow();
    first.catch(() => undefined);
    while (held.length === 0) await new Promise((r) => setTimeout(r, 10));
    // Still within the deadline: the same check is joined.
    expect(u.checkNow()).toBe(first);
    mono += 3_600_000 + 6 * 60_000;
    hold = false;
    expect(await u.checkNow()).toMatch(/no release/);
    await expect(first).rejects.toThrow(/abandoned/);
    expect(requests).toBe(2);
  });

  it('a signed manifest for the running version records its counter and downloads nothing', async () => {
    body = signManifest(
      {
        schema: 2,
        version: '1.0.0',
        channel: 'stable',
        bundle: { url: 'b.tar.gz', sha512: `${'A'.repeat(86)}==`, size: 10 },
        bundleDescriptorSha256: 'b'.repeat(64),
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        counter: 3,
        releasedAt: new Date(Date.now() - 1000).toISOString(),
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        rolloutShare: 1,
      },
      [key.privateKeyPem],
    );
    const u = make(new RecordingFakeScheduler());
    expect(await u.checkNow()).toMatch(/up to date/);
    expect(await u.checkNow()).toMatch(/already handled/);
    expect(requests).toBe(2);
  });
});
