import { z } from 'zod';
import { apiPath, endpoint, named } from './endpoint.js';

/** The backend's own health, metrics and this API's description. */

export const HealthReport = z.object({
  status: z.literal('ok'),
  panels: z.number().int().min(0),
  mqttConnectedPanels: z.number().int().min(0),
  uptimeSeconds: z.number().min(0),
});
export type HealthReport = z.infer<typeof HealthReport>;

export const operationsEndpoints = {
  getHealth: endpoint({
    method: 'GET',
    path: '/healthz',
    operationId: 'getHealth',
    tag: 'operations',
    auth: 'none',
    summary: 'Liveness and a few counts',
    responses: { 200: { description: 'The backend is up', schema: named('HealthReport', HealthReport) } },
  }),
  getMetrics: endpoint({
    method: 'GET',
    path: '/metrics',
    operationId: 'getMetrics',
    tag: 'operations',
    auth: 'none',
    summary: 'Prometheus metrics (text exposition format)',
    responses: { 200: { description: 'Metrics', mediaType: 'text/plain; version=0.0.4' } },
  }),
  getOpenApi: endpoint({
    method: 'GET',
    path: apiPath('/openapi.json'),
    operationId: 'getOpenApi',
    tag: 'operations',
    auth: 'none',
    summary: 'This API, described as OpenAPI 3',
    responses: { 200: { description: 'The OpenAPI document' } },
  }),
};
