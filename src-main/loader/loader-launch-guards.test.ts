import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { cp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoaderState } from '@airpanel/contract/release';
import { extractBundle } from '../core/update/bundle.js';
import { signManifest } from '../core/update/keys.js';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { releaseLayout } from '../core/update/layout.js';
import { BundleLoader, livenessFromWatchdog } from './loader.js';
import { ProcessLauncher } from './launcher.js';
import { LoaderStore } from './store.js';
import {
  key,
  stranger,
  verifier,
  RUNTIME,
  manifestFor,
  dir,
  dataDir,
  factoryDir,
  build,
  install,
  loader,
  useLoaderDirs,
} from './loader.test-support.js';

// The loader's fs + process layer with real bundles on disk and real child processes.
describe('BundleLoader', () => {
  useLoaderDirs();

  describe('launch-time verification: a writer on /data cannot get anything unsigned started', () => {
    /** 2.0.0 committed, then 3.0.0 committed over it: current 3.0.0, previous 2.0.0. */
    async function twoCommitted(): Promise<ReturnType<typeof releaseLayout>> {
      for (const v of ['2.0.0', '3.0.0']) {
        await install(v, 'healthy');
        expect((await loader().runOnce()).result).toBe('committed-then-exited');
      }
      return releaseLayout(dataDir);
    }
    /** The next start: what it launched (and that it ran to a clean exit), and what it reported. */
    async function nextStart() {
      const o = await loader().runOnce();
      expect(o.exit).toEqual({ code: 0, signal: null });
      return o;
    }

    it('one byte of an installed main changed (same size): refused, previous runs, then factory', async () => {
      const layout = await twoCommitted();
      for (const [v, expected] of [
        ['3.0.0', { kind: 'previous', version: '2.0.0' }],
        ['2.0.0', { kind: 'factory' }],
      ] as const) {
        const main = join(layout.bundleDir(v), 'app', 'main.mjs');
        const text = await readFile(main, 'utf8');
        await writeFile(main, text.replace('50', '51')); // same length, one byte
        expect((await readFile(main)).length).toBe(Buffer.byteLength(text));
        const o = await nextStart();
        expect(o.launch).toEqual(expected);
        expect(o.state.refused).toContain(v);
        expect(
          o.state.recent.some((r) => r.kind === 'refused' && r.version === v && /main\.mjs does not match bundle\.json/.test(r.reason)),
        ).toBe(true);
      }
      // Refused for good: putting the bytes back does not make it start again.
      expect((await loader().decide()).launch).toEqual({ kind: 'factory' });
    });

    it('a file added to an installed release: refused, previous runs', async () => {
      const layout = await twoCommitted();
      await writeFile(join(layout.bundleDir('3.0.0'), 'app', 'preload.js'), 'globalThis.evil = 1;\n');
      const o = await nextStart();
      expect(o.launch).toEqual({ kind: 'previous', version: '2.0.0' });
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '3.0.0',
        reason: expect.stringMatching(/extra: app\/preload\.js/),
      });
    });

    it('a file replaced by a symlink (to identical bytes), or a symlink on the path: refused', async () => {
      const layout = await twoCommitted();
      const main = join(layout.bundleDir('3.0.0'), 'app', 'main.mjs');
      await cp(main, join(dir, 'outside.mjs'));
      await rm(main);
      await symlink(join(dir, 'outside.mjs'), main);
      expect((await nextStart()).launch).toEqual({ kind: 'previous', version: '2.0.0' });
      // releases/2.0.0 itself moved away and replaced by a symlink to it (every file intact).
      await rename(layout.bundleDir('2.0.0'), join(dir, 'moved-2.0.0'));
      await symlink(join(dir, 'moved-2.0.0'), layout.bundleDir('2.0.0'));
      const o = await nextStart();
      expect(o.launch).toEqual({ kind: 'factory' });
      expect(o.state.lastOutcome).toMatchObject({ kind: 'refused', version: '2.0.0', reason: expect.stringMatching(/is a symlink/) });
    });

    it('a complete unsigned releases/X/ with a candidate.json, then loader-state.json edited to name it: never started', async () => {
      const layout = await twoCommitted();
      // A complete, self-consistent bundle (bundle.json matches every file), but nothing signed it.
      const evil = await build('9.0.0', 'healthy');
      await extractBundle(evil.file, layout.bundleDir('9.0.0'), '9.0.0');
      await writeFileAtomic(layout.candidateFile, JSON.stringify({ version: '9.0.0', at: new Date().toISOString() }));
      let o = await nextStart();
      expect(o.launch).toEqual({ kind: 'current', version: '3.0.0' });
      expect(o.state.trial).toBeNull();
      expect(o.state.lastOutcome).toMatchObject({ version: '9.0.0', reason: expect.stringMatching(/no release-manifest\.json/) });
      // The same with a manifest signed by a key the image does not trust: refused for good.
      const forged = manifestFor(evil);
      await writeFile(
        join(layout.bundleDir('9.0.0'), 'release-manifest.json'),
        JSON.stringify(signManifest(forged, [stranger.privateKeyPem])),
      );
      await writeFileAtomic(layout.candidateFile, JSON.stringify({ version: '9.0.0', at: new Date().toISOString() }));
      o = await nextStart();
      expect(o.launch).toEqual({ kind: 'current', version: '3.0.0' });
      expect(o.state.refused).toContain('9.0.0');
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '9.0.0',
        reason: expect.stringMatching(/no valid signature by a key of the image's keyring/),
      });
      // A genuine signed manifest of another release copied in (mix-and-match): refused too.
      await cp(join(layout.bundleDir('3.0.0'), 'release-manifest.json'), join(layout.bundleDir('9.0.0'), 'release-manifest.json'));
      // loader-state.json edited to name it as the committed bundle, the refusal list wiped.
      const state = JSON.parse(await readFile(layout.loaderStateFile, 'utf8')) as Record<string, unknown>;
      await writeFile(
        layout.loaderStateFile,
        JSON.stringify({ ...state, current: '9.0.0', previous: '3.0.0', refused: [], running: null, crashes: null }),
      );
      o = await nextStart();
      expect(o.launch).toEqual({ kind: 'previous', version: '3.0.0' });
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '9.0.0',
        reason: expect.stringMatching(/signed manifest is for 3\.0\.0/),
      });
      // …and named as a trial with attempts left: not started either.
      await writeFile(
        layout.loaderStateFile,
        JSON.stringify({
          ...state,
          current: '3.0.0',
          trial: { version: '9.0.0', attemptsLeft: 2 },
          refused: [],
          running: null,
          crashes: null,
        }),
      );
      expect((await nextStart()).launch).toEqual({ kind: 'current', version: '3.0.0' });
    });

    it('a release whose minimum runtime is above this runtime is not started (nor refused for good)', async () => {
      await twoCommitted();
      await install('4.0.0', 'healthy', { electron: '46.0.0', node: '20.0.0' });
      const o = await nextStart();
      expect(o.launch).toEqual({ kind: 'current', version: '3.0.0' });
      expect(o.state.refused).not.toContain('4.0.0');
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '4.0.0',
        reason: expect.stringMatching(/skipped at launch: .*needs electron 46\.0\.0, this one is 45\.4\.1/),
      });
      // The same release on an image with a newer runtime is taken.
      await writeFileAtomic(releaseLayout(dataDir).candidateFile, JSON.stringify({ version: '4.0.0', at: new Date().toISOString() }));
      expect(await loader(10_000, { runtimeVersion: '46.1.0' }).runOnce()).toMatchObject({
        launch: { kind: 'trial', version: '4.0.0' },
        result: 'committed-then-exited',
      });
    });
  });

  describe('a committed bundle that keeps crashing is not forever', () => {
    it('crashing after commit N times within M minutes: previous, then factory, and the state says so', async () => {
      const l = loader(10_000, { crashLimit: 2 });
      await install('2.0.0', 'healthyThenCrash');
      expect(await l.runOnce()).toMatchObject({
        launch: { kind: 'trial', version: '2.0.0' },
        result: 'committed-then-exited',
        exit: { code: 3 },
      });
      await install('3.0.0', 'healthyThenCrash');
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        const o = await l.runOnce();
        seen.push(`${o.launch.kind}:${o.result}`);
      }
      expect(seen).toEqual([
        'trial:committed-then-exited', // commits, then crashes: 1
        'current:fell-back', // 2 within the window: given up
        'previous:exited', // 2.0.0 (its crash count started again at 3.0.0's commit)
        'previous:fell-back',
        'factory:exited',
      ]);
      const state = new LoaderStore(releaseLayout(dataDir)).readState();
      expect(state.refused).toEqual(['3.0.0', '2.0.0']);
      expect(state.recent.filter((r) => r.kind === 'fell-back').map((r) => [r.version, r.reason])).toEqual([
        ['3.0.0', expect.stringMatching(/^crashed 2 times within 10 min \(last: code 3/)],
        ['2.0.0', expect.stringMatching(/^crashed 2 times within 10 min/)],
      ]);
    });

    it("the default liveness limit acts before the unit's watchdog (5/6 of WatchdogSec), and is off without one", () => {
      expect(livenessFromWatchdog('30000000')).toBe(25_000);
      expect(livenessFromWatchdog(undefined)).toBe(0);
      expect(livenessFromWatchdog('nonsense')).toBe(0);
    });

    it('hanging after commit, found by the loader (no alive message in time): killed, counted, previous after N', async () => {
      const l = new BundleLoader({
        dataDir,
        factoryDir,
        verifier,
        runtimeVersion: RUNTIME,
        healthDeadlineMs: 10_000,
        crashLimit: 2,
        livenessMs: 400,
        launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }),
      });
      await install('2.0.0', 'healthy');
      expect((await l.runOnce()).result).toBe('committed-then-exited');
      await install('3.0.0', 'healthyAliveThenHang');
      const first = await l.runOnce();
      expect(first).toMatchObject({
        launch: { kind: 'trial', version: '3.0.0' },
        result: 'committed-then-exited',
        exit: { signal: 'SIGKILL' },
      });
      expect(first.state.crashes).toMatchObject({ version: '3.0.0' });
      const second = await l.runOnce();
      expect(second).toMatchObject({ launch: { kind: 'current', version: '3.0.0' }, result: 'fell-back' });
      expect(second.state.lastOutcome).toMatchObject({
        kind: 'fell-back',
        version: '3.0.0',
        reason: expect.stringMatching(/crashed 2 times.*hung: no alive message for 400 ms/),
      });
      expect((await l.decide()).launch).toEqual({ kind: 'previous', version: '2.0.0' });
      // An app that never sends an alive message is not held to it (older bundles, no systemd).
      await install('4.0.0', 'healthyThenHang');
      const quiet = l.runOnce();
      const end = Date.now() + 10_000;
      while (!existsSync(join(dataDir, 'app.pid')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1200)); // three liveness periods
      expect(new LoaderStore(releaseLayout(dataDir)).readState()).toMatchObject({
        current: '4.0.0',
        running: { version: '4.0.0' },
        crashes: null,
      });
      l.stop();
      expect((await quiet).result).toBe('committed-then-exited');
    });

    it('hanging after commit, taken down with the loader each time (watchdog, power): previous after N such starts', async () => {
      // The real loader process (main.ts) with the image's options; killed together with its
      // app as a watchdog reset or a power cut does, so it never sees the app end.
      const keyring = join(dir, 'keyring.json');
      await writeFile(keyring, JSON.stringify({ keys: [{ keyId: key.keyId, publicKey: key.publicKey }] }));
      const args = [
        join(import.meta.dirname, 'main.ts'),
        '--data-dir',
        dataDir,
        '--factory-dir',
        factoryDir,
        '--runtime',
        process.execPath,
        '--keyring',
        keyring,
        '--runtime-version',
        RUNTIME,
        '--crash-limit',
        '2',
        '--health-deadline-ms',
        '20000',
      ];
      const store = new LoaderStore(releaseLayout(dataDir));
      const { spawn } = await import('node:child_process');
      const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');
      /** Starts the loader, waits until the app it started is up (and committed), kills both. */
      async function bootAndKill(): Promise<LoaderState> {
        await rm(join(dataDir, 'app.pid'), { force: true });
        const loaderProc = spawn(tsx, args, { stdio: 'ignore', detached: true });
        try {
          const end = Date.now() + 20_000;
          while (!(existsSync(join(dataDir, 'app.pid')) && store.readState().trial === null) && Date.now() < end)
            await new Promise((r) => setTimeout(r, 50));
          await new Promise((r) => setTimeout(r, 300)); // the commit is on disk before the app hangs
        } finally {
          process.kill(-loaderProc.pid!, 'SIGKILL'); // the loader (tsx and its node)
          const pid = existsSync(join(dataDir, 'app.pid')) ? Number(await readFile(join(dataDir, 'app.pid'), 'utf8')) : null;
          if (pid) process.kill(-pid, 'SIGKILL'); // the app, in its own process group
        }
        return store.readState();
      }
      await install('2.0.0', 'healthy');
      expect((await loader().runOnce()).result).toBe('committed-then-exited');
      await install('3.0.0', 'healthyThenHang');
      let s = await bootAndKill();
      expect(s).toMatchObject({ current: '3.0.0', previous: '2.0.0', running: { version: '3.0.0' } });
      s = await bootAndKill(); // crash 1 counted at this start; still 3.0.0
      expect(s.running?.version).toBe('3.0.0');
      const o = await loader(10_000, { crashLimit: 2 }).decide(); // crash 2: given up
      expect(o.launch).toEqual({ kind: 'previous', version: '2.0.0' });
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'fell-back',
        version: '3.0.0',
        reason: expect.stringMatching(/crashed 2 times.*ended without the loader/),
      });
    }, 60_000);
  });
});
