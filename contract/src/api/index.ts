// @airpanel/contract/api: the backend's HTTP API declared once: for every operation its method,
// path, operationId, auth, inputs and answers. The backend binds handlers to these, builds its
// router and OpenAPI document from them; clients build requests and read answers from them.
import { accountEndpoints } from './accounts.js';
import { alertEndpoints } from './alerts.js';
import { commandEndpoints } from './commands.js';
import { contentSetEndpoints } from './content-sets.js';
import { displayEndpoints } from './display.js';
import { createEndpointClient, type ApiClient, type ApiClientOptions } from './client.js';
import type { Endpoint } from './endpoint.js';
import { eventEndpoints } from './events.js';
import { levelSchemeEndpoints } from './level-schemes.js';
import { operationsEndpoints } from './operations.js';
import { panelReadingEndpoints } from './panel-readings.js';
import { panelEndpoints } from './panels.js';
import { readingEndpoints } from './readings.js';
import { releaseEndpoints } from './releases.js';
import { screenshotEndpoints } from './screenshots.js';
import { sensorSourceEndpoints } from './sensors.js';

export * from './endpoint.js';
export * from './client.js';
export * from './client-transport.js';
export { HealthReport } from './operations.js';
export { LimitQuery, PanelParams } from './params.js';
export { PanelTransitionsQuery } from './panels.js';
export { SCREENSHOT_MAX_BYTES } from './screenshots.js';
export { SensorParams } from './sensors.js';
export * from './panel-readings.js';
export * from './releases.js';
export { UserParams } from './accounts.js';
export { AlertListQuery } from './alerts.js';
export {
  accountEndpoints,
  alertEndpoints,
  commandEndpoints,
  contentSetEndpoints,
  displayEndpoints,
  eventEndpoints,
  levelSchemeEndpoints,
  operationsEndpoints,
  panelEndpoints,
  readingEndpoints,
  screenshotEndpoints,
  sensorSourceEndpoints,
};

/** Every operation of the API by operationId, in the order the OpenAPI document lists them. */
export const endpoints = {
  ...operationsEndpoints,
  ...panelEndpoints,
  ...displayEndpoints,
  ...screenshotEndpoints,
  ...commandEndpoints,
  ...sensorSourceEndpoints,
  ...readingEndpoints,
  ...contentSetEndpoints,
  ...levelSchemeEndpoints,
  ...releaseEndpoints,
  ...panelReadingEndpoints,
  ...accountEndpoints,
  ...alertEndpoints,
  ...eventEndpoints,
} satisfies Record<string, Endpoint>;

export type Endpoints = typeof endpoints;
export type OperationId = keyof Endpoints;

/** The typed client of this API (client.ts): `createApiClient({ baseUrl, credentials, transport })`. */
export type BackendApiClient = ApiClient<Endpoints>;
export function createApiClient(options: Omit<ApiClientOptions<Endpoints>, 'endpoints'>): BackendApiClient {
  return createEndpointClient({ ...options, endpoints });
}
