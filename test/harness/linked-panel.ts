// The start of the link-fault cases: the real backend with one registered panel, a reading
// feeder keeping its documents coming, and an in-process panel that reaches the backend only
// through the two LinkProxies (HTTP and MQTT) a test cuts, delays or blackholes.
import { ReadingFeeder, type AdminApi } from './admin.js';
import { startBackendWithPanel, type InProcessBackend } from './backend.js';
import type { Cleanups } from './cleanups.js';
import { proxyBackendLinks, type BackendLinks } from './links.js';
import { startPanel, type InProcessPanelOptions, type TestPanel } from './panel.js';

export interface LinkedPanel extends BackendLinks {
  backend: InProcessBackend;
  api: AdminApi;
  feeder: ReadingFeeder;
  panel: TestPanel;
}

export async function startPanelBehindLinks(o: {
  cleanups: Cleanups;
  panelId: string;
  /** A reading every `everyMs` (default 250), at most `maxReadings` (default 2000). */
  feed?: { everyMs?: number; maxReadings?: number };
  /** More options for the in-process panel (tuning, wall clock…). */
  panel?: Omit<InProcessPanelOptions, 'mode' | 'cleanups' | 'registration' | 'apiBaseUrl' | 'mqttUrl'>;
}): Promise<LinkedPanel> {
  const { backend, api, registration, sensorId } = await startBackendWithPanel({ cleanups: o.cleanups, panelId: o.panelId });
  const links = await proxyBackendLinks(o.cleanups, backend);
  const feeder = new ReadingFeeder(() => api, sensorId, o.feed?.everyMs ?? 250, o.feed?.maxReadings ?? 2_000).start();
  o.cleanups.add(() => feeder.stop());
  const panel = await startPanel({
    ...o.panel,
    mode: 'in-process',
    cleanups: o.cleanups,
    registration,
    apiBaseUrl: links.apiBaseUrl,
    mqttUrl: links.mqttUrl,
  });
  return { ...links, backend, api, feeder, panel };
}
