import { parseArgs } from 'node:util';
import { BundleLoader } from './loader.js';
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
    'health-deadline-ms': { type: 'string', default: '60000' },
    'max-attempts': { type: 'string', default: '2' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: loader --data-dir DIR --factory-dir DIR --runtime CMD [--host electron|node] [--health-deadline-ms N] [--max-attempts N] [-- runtime args]');
  process.exit(0);
}
const host = values.host;
if (host !== 'electron' && host !== 'node') {
  console.error(`loader: --host must be electron or node, not ${JSON.stringify(host)}`);
  process.exit(2);
}
const loader = new BundleLoader({
  dataDir: values['data-dir'],
  factoryDir: values['factory-dir'],
  launcher: new ProcessLauncher(values.runtime, positionals),
  host,
  healthDeadlineMs: Number(values['health-deadline-ms']),
  maxAttempts: Number(values['max-attempts']),
  log: (line) => console.log(line),
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => loader.stop());
await loader.run();
