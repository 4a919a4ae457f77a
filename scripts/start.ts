// `npm start`: the backend on embedded defaults (SQLite in .data/, embedded MQTT) with one
// demo panel fed by a simulated sensor, printing what a panel needs to connect. Another
// step will also start a simulated panel here.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { createBackend } from '../server-stub/src/backend.js';
import { closeOnSignals } from '../server-stub/src/cli.js';
import { createJsonLogger } from '../server-stub/src/logger.js';
import { ServiceError } from '../server-stub/src/errors.js';

const DEMO_PANEL_ID = 'demo-panel';
const DEMO_SENSOR_ID = 'demo-sensor';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: process.env.AIRPANEL_DATA_DIR ?? '.data/demo' },
    port: { type: 'string', default: process.env.AIRPANEL_PORT ?? '8080' },
    'mqtt-port': { type: 'string', default: process.env.AIRPANEL_MQTT_PORT ?? '1883' },
    'refresh-interval': { type: 'string', default: process.env.AIRPANEL_REFRESH_INTERVAL ?? '60' },
  },
});

const logger = createJsonLogger(process.env.AIRPANEL_LOG_LEVEL ?? 'warn');
const backend = await createBackend({
  dataDir: path.resolve(values['data-dir']),
  host: '127.0.0.1',
  port: Number(values.port),
  mqtt: { mode: 'embedded', port: Number(values['mqtt-port']) },
  refreshIntervalSeconds: Number(values['refresh-interval']),
  adminToken: process.env.AIRPANEL_ADMIN_TOKEN,
  logger,
});
closeOnSignals(backend, logger);

const { service } = backend;
const existing = service.listPanels().some((p) => p.id === DEMO_PANEL_ID);
if (!service.listSensorSources().some((s) => s.id === DEMO_SENSOR_ID)) {
  service.createSensorSource({ id: DEMO_SENSOR_ID, name: 'Demo sensor (simulated)', spec: { kind: 'simulated' } });
}
let apiKey: string;
if (existing) {
  // Keys are stored hashed and cannot be shown again: a restart issues the demo panel a new one.
  apiKey = (await service.rotatePanelKey(DEMO_PANEL_ID)).apiKey;
} else {
  const registration = await service.createPanel({ id: DEMO_PANEL_ID, name: 'Demo panel', sensorSourceId: DEMO_SENSOR_ID, location: { description: 'Demo street' } });
  apiKey = registration.apiKey;
}
try {
  service.postReading(DEMO_SENSOR_ID, { values: { pm25: 12, no2: 35 } });
} catch (error) {
  if (!(error instanceof ServiceError)) throw error;
}
const endpoints = service.endpointsFor(DEMO_PANEL_ID);

process.stdout.write(`
Airpanel backend   ${backend.url}   (OpenAPI: ${backend.url}/api/v1/openapi.json)
MQTT for panels    ${backend.mqttUrl ?? 'none'}
Admin token        ${backend.adminTokenFile ? `in ${backend.adminTokenFile}` : 'from AIRPANEL_ADMIN_TOKEN'}

Demo panel id      ${DEMO_PANEL_ID}
Demo panel API key ${apiKey}
Display document   curl -H 'Authorization: Bearer ${apiKey}' ${endpoints.apiBaseUrl}/panels/${DEMO_PANEL_ID}/display
Change the air     curl -X POST -H "Authorization: Bearer $(cat ${backend.adminTokenFile ?? '<admin token file>'})" -H 'Content-Type: application/json' \\
                     -d '{"values":{"pm25":60}}' ${endpoints.apiBaseUrl}/sensors/${DEMO_SENSOR_ID}/readings

Ctrl-C stops it.
`);
