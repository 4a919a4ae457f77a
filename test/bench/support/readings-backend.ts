/**
 * The backend for the panel-readings benchmark, as a child process: createBackend with the
 * embedded broker and an averaging rule that decides on every reading (one one-minute bucket),
 * so each reading costs what it costs in steady state once a panel has its 24 hours of
 * history: the insert, the averaging query, the level evaluation and, when the value moved, a
 * new document stored and published. Prints `READY <httpUrl> <mqttUrl>` when it listens.
 *
 *   node --import tsx test/bench/support/readings-backend.ts --data-dir DIR
 */
import { parseArgs } from 'node:util';
import { createBackend } from '@airpanel/backend/backend';
import { silentLogger } from '@airpanel/backend/logger';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, 'admin-token': { type: 'string' } } });
const backend = await createBackend({
  dataDir: values['data-dir']!,
  host: '127.0.0.1',
  port: 0,
  mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' },
  adminToken: values['admin-token']!,
  logger: silentLogger,
  releaseFeed: false,
  panelReadingAveraging: {
    bucketMs: 60_000,
    slotsPerBucket: 1,
    bucketsByPollutant: { pm25: 1, pm10: 1, no2: 1, o3: 1, so2: 1 },
    minCoverage: 1,
  },
});
process.stdout.write(`READY ${backend.url} ${backend.mqttUrl}\n`);
process.once('SIGTERM', () => void backend.close().then(() => process.exit(0)));
