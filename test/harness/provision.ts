// Provisioning a panel, done one way: register it through the admin API (or give an existing
// one a fresh key), then write its panel.json, validated and atomically.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Panel, PanelConfig, panelTopics, type Location, type PanelConfigInput, type PanelEndpoints } from '@airpanel/contract';
import { ApiCallError } from '@airpanel/contract/api';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import type { AdminApi } from './admin.js';

export interface ProvisionOptions {
  panelId: string;
  /** The panel's simulated sensor source, created when missing; null: a panel with no sensor. Default `<panelId>-sensor`. */
  sensorId?: string | null;
  /** Default `Sensor of <panelId>`. */
  sensorName?: string;
  name?: string;
  location?: Location;
  /** The pm2.5 of a reading posted when the sensor was created (default 10); null: none. */
  firstPm25?: number | null;
}

/** What a panel needs to know of itself: its record and its key; `endpoints` only from a registration. */
export interface ProvisionedPanel {
  panel: Panel;
  apiKey: string;
  /** As the backend gave them at registration; null after a key rotation (it shows them only once). */
  endpoints: PanelEndpoints | null;
  sensorId: string | null;
  /** False: the panel existed and got a new key. */
  created: boolean;
  /** The sensor source was created now (it has no reading unless `firstPm25` posted one). */
  sensorCreated: boolean;
}

/**
 * Registers the panel (and its simulated sensor) or, when it exists, rotates its API key: keys
 * are stored hashed, so a second start can only get a new one.
 */
export async function provisionPanel(api: AdminApi, o: ProvisionOptions): Promise<ProvisionedPanel> {
  const sensorId = o.sensorId === undefined ? `${o.panelId}-sensor` : o.sensorId;
  let sensorCreated = false;
  if (sensorId !== null && (await nullIfNotFound(api.client.call('getSensorSource', { params: { sensorId } }))) === null) {
    await api.client.call('createSensorSource', {
      body: { id: sensorId, name: o.sensorName ?? `Sensor of ${o.panelId}`, spec: { kind: 'simulated' } },
    });
    sensorCreated = true;
  }
  let provisioned: ProvisionedPanel;
  const existing = await nullIfNotFound(api.client.call('getPanel', { params: { panelId: o.panelId } }));
  if (existing === null) {
    const registration = await api.client.call('createPanel', {
      body: {
        id: o.panelId,
        name: o.name ?? `Panel ${o.panelId}`,
        location: o.location ?? { description: 'test harness' },
        ...(sensorId !== null ? { sensorSourceId: sensorId } : {}),
      },
    });
    provisioned = { ...registration, sensorId, created: true, sensorCreated };
  } else {
    const rotation = await api.client.call('rotatePanelKey', { params: { panelId: o.panelId } });
    provisioned = { panel: Panel.parse(existing), apiKey: rotation.apiKey, endpoints: null, sensorId, created: false, sensorCreated };
  }
  if (sensorCreated && o.firstPm25 !== null) await api.postReading(sensorId!, o.firstPm25 ?? 10);
  return provisioned;
}

/** The call's answer, or null when it was answered 404. */
async function nullIfNotFound<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof ApiCallError && e.status === 404) return null;
    throw e;
  }
}

/** A registration (e.g. from provisionPanel) as panel.json, pointed at other endpoints if given. */
export function panelConfigFor(
  p: { panel: Panel; apiKey: string; endpoints?: PanelEndpoints | null },
  o: { apiBaseUrl?: string; mqttUrl?: string | null; extra?: Partial<PanelConfigInput> } = {},
): PanelConfigInput {
  const apiBaseUrl = o.apiBaseUrl ?? p.endpoints?.apiBaseUrl;
  if (!apiBaseUrl) throw new Error('panelConfigFor: no apiBaseUrl (a rotated key comes without endpoints)');
  return {
    schemaVersion: 1,
    panelId: p.panel.id,
    apiKey: p.apiKey,
    name: p.panel.name,
    location: p.panel.location,
    endpoints: {
      apiBaseUrl,
      mqttUrl: o.mqttUrl !== undefined ? o.mqttUrl : (p.endpoints?.mqttUrl ?? null),
      topics: p.endpoints?.topics ?? panelTopics(p.panel.id),
    },
    ...o.extra,
  };
}

/** Writes `<dataDir>/panel.json` (validated first: a harness never writes a config the panel would refuse). */
export async function writePanelConfig(dataDir: string, config: PanelConfigInput): Promise<void> {
  PanelConfig.parse(config);
  await mkdir(dataDir, { recursive: true });
  await writeFileAtomic(join(dataDir, 'panel.json'), `${JSON.stringify(config, null, 2)}\n`);
}
