/**
 * The backend for the panel-readings benchmark, as a child process: the harness's in-process
 * backend with the embedded broker and an averaging rule that decides on every reading (one one-minute bucket),
 * so each reading costs what it costs in steady state once a panel has its 24 hours of
 * history: the insert, the averaging query, the level evaluation and, when the value moved, a
 * new document stored and published. Prints `READY <httpUrl> <mqttUrl>` when it listens.
 *
 *   node --import tsx test/bench/support/readings-backend.ts --data-dir DIR
 */
import { parseArgs } from 'node:util';
import { Cleanups, startBackend } from '../../harness/index.js';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, 'admin-token': { type: 'string' } } });
const cleanups = new Cleanups();
const backend = await startBackend({
  mode: 'in-process',
  cleanups,
  dataDir: values['data-dir']!,
  mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' },
  adminToken: values['admin-token']!,
  backend: {
    releaseFeed: false,
    panelReadingAveraging: {
      bucketMs: 60_000,
      slotsPerBucket: 1,
      bucketsByPollutant: { pm25: 1, pm10: 1, no2: 1, o3: 1, so2: 1 },
      minCoverage: 1,
    },
  },
});
process.stdout.write(`READY ${backend.url} ${backend.mqttUrl}\n`);
process.once('SIGTERM', () => void cleanups.run().then(() => process.exit(0)));
