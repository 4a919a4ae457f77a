/**
 * Child process of the kill trials (test/ota-faults.test.ts): does one real install and
 * loader commit, exactly as a panel would, so the parent can SIGKILL it at a random point.
 * argv: dataDir manifestUrl keyringFile runningVersion factoryDir
 */
import { readFile } from 'node:fs/promises';
import { loaderStep } from '@airpanel/contract/release';
import { Ed25519Verifier, GotOtaHttpClient, OtaUpdater } from '@airpanel/panel/core/update/index';
import { BundleLoader } from '@airpanel/panel/loader/loader';
import { LoaderStore } from '@airpanel/panel/loader/store';
import { timerScheduler } from './updater.js';

const [dataDir, manifestUrl, keyringFile, runningVersion, factoryDir] = process.argv.slice(2) as [string, string, string, string, string];
const verifier = Ed25519Verifier.fromFile(JSON.parse(await readFile(keyringFile, 'utf8')));
const updater = new OtaUpdater({
  dataDir,
  manifestUrl,
  reportUrl: null,
  panelId: 'panel-kill',
  channel: 'stable',
  runtimeHost: 'electron',
  runtimeVersion: '45.4.1',
  runningVersion,
  launchKind: 'current',
  buildTimeMs: 0,
  verifier,
  http: new GotOtaHttpClient(),
  wallClock: { now: () => Date.now() },
  scheduler: timerScheduler,
  random: Math.random,
  requestRestart: async () => undefined,
});
const loader = new BundleLoader({
  dataDir,
  factoryDir,
  verifier,
  runtimeVersion: '45.4.1',
  launcher: {
    launch: () => {
      throw new Error('not used');
    },
  },
});
const t0 = performance.now();
process.stdout.write('ready\n');
await updater.checkNow();
const decided = await loader.decide();
const store = new LoaderStore(loader.layout);
if (decided.launch.kind === 'trial')
  store.writeState(loaderStep(store.readState(), { type: 'healthy', at: new Date().toISOString() }).state);
// The app it started runs and later restarts with a clean exit (not a crash of that version).
store.writeState(loaderStep(store.readState(), { type: 'exited', crashed: false, detail: 'code 0', at: new Date().toISOString() }).state);
await updater.start(); // prunes old releases, as the committed app does at its start
updater.stop();
process.stdout.write(`done ${Math.round(performance.now() - t0)}\n`);
