// The loopback link between a panel and the backend: the simulator's LinkProxy (pass, delay,
// blackhole, reset) in front of the backend's HTTP and MQTT ports. Used as it is, not copied.
import { LinkProxy } from '@airpanel/panel/headless/simulator/link-proxy';
import type { Cleanups } from './cleanups.js';

export { LinkProxy };
export type { ProxyMode } from '@airpanel/panel/headless/simulator/link-proxy';

export interface BackendLinks {
  httpProxy: LinkProxy;
  mqttProxy: LinkProxy;
  /** What a panel behind the proxies dials. */
  apiBaseUrl: string;
  mqttUrl: string;
}

/** A listening LinkProxy in front of the backend's HTTP port and one in front of its MQTT port; closed by `cleanups`. */
export async function proxyBackendLinks(cleanups: Cleanups, backend: { url: string; mqttUrl: string | null }): Promise<BackendLinks> {
  if (!backend.mqttUrl) throw new Error('proxyBackendLinks: the backend has no MQTT broker');
  const httpProxy = new LinkProxy({ host: '127.0.0.1', port: Number(new URL(backend.url).port) });
  const mqttProxy = new LinkProxy({ host: '127.0.0.1', port: Number(new URL(backend.mqttUrl).port) });
  await httpProxy.listen();
  await mqttProxy.listen();
  cleanups.add(
    () => httpProxy.close(),
    () => mqttProxy.close(),
  );
  return { httpProxy, mqttProxy, apiBaseUrl: `http://127.0.0.1:${httpProxy.port}/api/v1`, mqttUrl: `mqtt://127.0.0.1:${mqttProxy.port}` };
}
