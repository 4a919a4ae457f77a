import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SignatureVerifier } from '@airpanel/contract/release';
import { Ed25519Verifier } from '../core/update/keys.js';
import { BundleLoader, livenessFromWatchdog } from './loader.js';
import { ProcessLauncher } from './launcher.js';

/**
 * `loader --data-dir /data/airpanel --factory-dir /usr/lib/airpanel/factory --runtime /opt/airpanel/airpanel [--host electron|node] [-- runtime args]`
 * With `--host node` the runtime (e.g. /usr/bin/node) starts each bundle's `nodeMain` instead of `main`.
 * Started by systemd on the panel (inside cage). See README.md.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'data-dir': { type: 'string', default: process.env.AIRPANEL_DATA_DIR ?? '/data/airpanel' },
    'factory-dir': { type: 'string', default: '/usr/lib/airpanel/factory' },
    runtime: { type: 'string', default: process.execPath },
    host: { type: 'string', default: 'electron' },
    keyring: { type: 'string', default: '/usr/lib/airpanel/release-keys.json' },
    'runtime-version': { type: 'string' },
    'crash-limit': { type: 'string', default: '3' },
    'crash-window-ms': { type: 'string', default: String(10 * 60_000) },
    'liveness-ms': { type: 'string' },
    'health-deadline-ms': { type: 'string', default: '60000' },
    'max-attempts': { type: 'string', default: '2' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'usage: loader --data-dir DIR --factory-dir DIR --runtime CMD [--host electron|node] [--keyring FILE] [--runtime-version X.Y.Z]\n' +
      '  [--health-deadline-ms N] [--max-attempts N] [--crash-limit N] [--crash-window-ms N] [--liveness-ms N] [-- runtime args]',
  );
  process.exit(0);
}
const host = values.host;
if (host !== 'electron' && host !== 'node') {
  console.error(`loader: --host must be electron or node, not ${JSON.stringify(host)}`);
  process.exit(2);
}
/** The image's keyring; without one (a development image) no installed release verifies: factory only. */
function keyring(file: string): SignatureVerifier {
  try {
    return Ed25519Verifier.fromFile(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    console.error(`loader: no usable release keyring at ${file} (${(e as Error).message}): only the factory bundle will run`);
    return { isTrusted: () => false, verify: () => false };
  }
}
const loader = new BundleLoader({
  dataDir: values['data-dir'],
  factoryDir: values['factory-dir'],
  launcher: new ProcessLauncher(values.runtime, positionals),
  host,
  verifier: keyring(values.keyring),
  // The loader runs on the runtime it starts apps with: the image's Electron (in Node mode) on
  // the Electron host, the image's Node on the Node host. A release names a minimum per host.
  runtimeVersion: values['runtime-version'] ?? (host === 'electron' ? process.versions.electron : process.versions.node) ?? null,
  crashLimit: Number(values['crash-limit']),
  crashWindowMs: Number(values['crash-window-ms']),
  livenessMs: values['liveness-ms'] !== undefined ? Number(values['liveness-ms']) : livenessFromWatchdog(process.env.WATCHDOG_USEC),
  healthDeadlineMs: Number(values['health-deadline-ms']),
  maxAttempts: Number(values['max-attempts']),
  log: (line) => console.log(line),
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => loader.stop());
await loader.run();
