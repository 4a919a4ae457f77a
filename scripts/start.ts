// `npm start`: the backend on embedded defaults (SQLite in .data/, embedded MQTT) with one
// demo panel fed by a simulated sensor, printing what a panel needs to connect, and that
// demo panel running as a simulated panel (scripts/dev-stack.ts):
//   - where the Electron binary exists: the Electron simulator (panel window + controls);
//   - otherwise the headless host, with the browser simulator at the printed URL (and why
//     Electron was not used).
// The panel reaches the backend through link proxies the simulator can cut; its panel.json
// (provisioned through the admin API, a fresh key at every start) is in .data/demo-panel.
//
//   npm start                          # backend on :8080, MQTT on :1883, simulator
//   npm start -- --headless            # browser simulator even where Electron exists
//   npm start -- --sim-port 8088       # headless host port (default: any free port)
//   npm start -- --freshness 30        # panel freshness window in seconds (default 900)
//   npm start -- --no-panel            # the backend and demo panel record only
// Ctrl-C stops everything cleanly; a second Ctrl-C exits at once.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { passwordWeakness } from '@airpanel/contract';
import { createBackend, type Backend } from '@airpanel/backend/backend';
import { closeOnSignals } from '@airpanel/backend/cli';
import { createJsonLogger } from '@airpanel/backend/logger';
import { ApiCallError, createApiClient, createFetchTransport } from '@airpanel/contract/api';
import { consoleLogger } from '@airpanel/panel/headless/logger';
import { startDevStack } from './dev-stack.js';

const DEMO_PANEL_ID = 'demo-panel';
const DEMO_SENSOR_ID = 'demo-sensor';
const DEMO_READING = { pm25: 12, no2: 35 };
const DEMO_OPERATOR = 'demo-operator';

/**
 * The demo operator of the backoffice, with a new generated password at every start (stored
 * hashed, it cannot be shown again), as the demo panel gets a new key.
 */
async function demoOperatorLogin(backend: Backend): Promise<string> {
  let password = randomBytes(12).toString('base64url');
  while (passwordWeakness(password, DEMO_OPERATOR)) password = randomBytes(12).toString('base64url');
  if (backend.accounts.find(DEMO_OPERATOR)) await backend.accounts.update(DEMO_OPERATOR, { password, disabled: false });
  else await backend.accounts.create({ name: DEMO_OPERATOR, role: 'operator', password });
  return `Backoffice         ${backend.url}/   log in as ${DEMO_OPERATOR} / ${password}   (operator; a new password at every start)
                   more users: npm run server -- users add --name NAME --role admin --data-dir ${path.resolve(values['data-dir'])}`;
}

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: process.env.AIRPANEL_DATA_DIR ?? '.data/demo' },
    port: { type: 'string', default: process.env.AIRPANEL_PORT ?? '8080' },
    'mqtt-port': { type: 'string', default: process.env.AIRPANEL_MQTT_PORT ?? '1883' },
    'refresh-interval': { type: 'string', default: process.env.AIRPANEL_REFRESH_INTERVAL ?? '60' },
    headless: { type: 'boolean', default: false },
    'sim-port': { type: 'string', default: '0' },
    freshness: { type: 'string' },
    'no-panel': { type: 'boolean', default: false },
  },
});

const logger = createJsonLogger(process.env.AIRPANEL_LOG_LEVEL ?? 'warn');

if (values['no-panel']) {
  // The backend alone with the demo panel's record, as before the simulated panel existed.
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

  // The demo records go through the API, as an operator's tools would.
  const admin = createApiClient({ baseUrl: backend.url, credentials: { bearer: backend.adminToken }, transport: createFetchTransport() });
  const existing = (await admin.call('listPanels')).some((p) => p.id === DEMO_PANEL_ID);
  if (!(await admin.call('listSensorSources')).some((s) => s.id === DEMO_SENSOR_ID)) {
    await admin.call('createSensorSource', { body: { id: DEMO_SENSOR_ID, name: 'Demo sensor (simulated)', spec: { kind: 'simulated' } } });
  }
  let apiKey: string;
  if (existing) {
    // Keys are stored hashed and cannot be shown again: a restart issues the demo panel a new one.
    apiKey = (await admin.call('rotatePanelKey', { params: { panelId: DEMO_PANEL_ID } })).apiKey;
  } else {
    const registration = await admin.call('createPanel', {
      body: { id: DEMO_PANEL_ID, name: 'Demo panel', sensorSourceId: DEMO_SENSOR_ID, location: { description: 'Demo street' } },
    });
    apiKey = registration.apiKey;
  }
  try {
    await admin.call('postReading', { params: { sensorId: DEMO_SENSOR_ID }, body: { values: DEMO_READING } });
  } catch (error) {
    // A demo source changed by hand (no longer simulated) refuses readings: the demo goes on.
    if (!(error instanceof ApiCallError && error.kind === 'refused')) throw error;
  }

  const operatorLogin = await demoOperatorLogin(backend);
  process.stdout.write(`
${operatorLogin}
Airpanel backend   ${backend.url}   (OpenAPI: ${admin.url('getOpenApi')})
MQTT for panels    ${backend.mqttUrl ?? 'none'}
Transport          plain HTTP and MQTT, on 127.0.0.1 only (TLS: npm run server -- --tls-ca-dir DIR; server-stub/README.md, "TLS")
Admin token        ${backend.adminTokenFile ? `in ${backend.adminTokenFile}` : 'from AIRPANEL_ADMIN_TOKEN'}

Demo panel id      ${DEMO_PANEL_ID}
Demo panel API key ${apiKey}
Display document   curl -H 'Authorization: Bearer ${apiKey}' ${admin.url('getDisplay', { panelId: DEMO_PANEL_ID })}
Change the air     curl -X POST -H "Authorization: Bearer $(cat ${backend.adminTokenFile ?? '<admin token file>'})" -H 'Content-Type: application/json' \\
                     -d '{"values":{"pm25":60}}' ${admin.url('postReading', { sensorId: DEMO_SENSOR_ID })}

Ctrl-C stops it.
`);
} else {
  const backendDataDir = path.resolve(values['data-dir']);
  const freshness = values.freshness ? Number(values.freshness) : undefined;
  const stack = await startDevStack({
    mode: values.headless ? 'headless' : 'auto',
    dataRoot: path.resolve('.data'),
    backendDataDir,
    backendPort: Number(values.port),
    mqttPort: Number(values['mqtt-port']),
    refreshIntervalSeconds: Number(values['refresh-interval']),
    ...(process.env.AIRPANEL_ADMIN_TOKEN ? { adminToken: process.env.AIRPANEL_ADMIN_TOKEN } : {}),
    backendLog: logger,
    panelId: DEMO_PANEL_ID,
    sensorId: DEMO_SENSOR_ID,
    initialReading: DEMO_READING,
    port: Number(values['sim-port']),
    log: consoleLogger,
    ...(freshness ? { panelJson: { freshnessWindowSeconds: freshness } } : {}),
    // The browser simulator's own-sensor control: a reading a second, and the EAQI rule scaled
    // from hours to 10-second buckets so the panel decides on its own within a minute.
    ownSensor: {
      readingIntervalMs: 1_000,
      averaging: {
        bucketMs: 10_000,
        slotsPerBucket: 10,
        bucketsByPollutant: { pm25: 6, pm10: 6, no2: 1, o3: 1, so2: 1 },
        minCoverage: 0.75,
      },
    },
  }).catch((error: unknown) => {
    console.error(`airpanel: start failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
  const backend = stack.backend()!;
  const api = createApiClient({ baseUrl: backend.url, transport: createFetchTransport() });

  const operatorLogin = await demoOperatorLogin(backend);
  process.stdout.write(`
${operatorLogin}
Airpanel backend   ${backend.url}   (OpenAPI: ${api.url('getOpenApi')})
MQTT for panels    ${backend.mqttUrl ?? 'none'}
Transport          plain HTTP and MQTT, on 127.0.0.1 only (TLS: npm run server -- --tls-ca-dir DIR; server-stub/README.md, "TLS")
Admin token        ${backend.adminTokenFile ? `in ${backend.adminTokenFile}` : 'from AIRPANEL_ADMIN_TOKEN'}

Demo panel id      ${DEMO_PANEL_ID}   (panel.json, cache and logs in ${stack.panelDataDir})
Demo panel API key ${stack.panelApiKey}
Change the air     curl -X POST -H "Authorization: Bearer $(cat ${backend.adminTokenFile ?? '<admin token file>'})" -H 'Content-Type: application/json' \\
                     -d '{"values":{"pm25":60}}' ${api.url('postReading', { sensorId: DEMO_SENSOR_ID })}
${
  stack.mode === 'electron'
    ? `\nSimulator          Electron (panel window + control window; controls also at ${stack.simulatorUrl})\n`
    : `
Electron           not used: ${stack.electronUnavailable ?? 'unknown reason'}
Panel              ${stack.panelUrl}
Simulator          ${stack.simulatorUrl}   <- open this in a browser
`
}
Ctrl-C stops everything.
`);

  closeOnSignals({ close: () => stack.stop() }, logger, (signal) => {
    process.stdout.write(`airpanel: ${signal}: stopping the panel, the simulator and the backend…\n`);
  });
}
