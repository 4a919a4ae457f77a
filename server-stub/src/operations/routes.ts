import { operationsEndpoints as endpoints } from '@airpanel/contract/api';
import type { Clock } from '../clock.js';
import { bindRoute, ok, type BoundRoute } from '../http/route.js';
import type { BackendMetrics } from '../metrics.js';

export interface OperationsContext {
  metrics: BackendMetrics;
  clock: Clock;
  startedAtMs: number;
  panelCount(): number;
  connectedPanelCount(): number;
  openApiDocument(): unknown;
}

/** Liveness, Prometheus metrics and the OpenAPI document. */
export function operationsRoutes(ctx: OperationsContext): BoundRoute[] {
  return [
    bindRoute(endpoints.getHealth, () =>
      ok({
        status: 'ok' as const,
        panels: ctx.panelCount(),
        mqttConnectedPanels: ctx.connectedPanelCount(),
        uptimeSeconds: Math.max(0, (ctx.clock.now() - ctx.startedAtMs) / 1000),
      }),
    ),
    bindRoute(endpoints.getMetrics, async () => ({
      status: 200,
      raw: { contentType: ctx.metrics.registry.contentType, payload: await ctx.metrics.registry.metrics() },
    })),
    bindRoute(endpoints.getOpenApi, () => ok(ctx.openApiDocument())),
  ];
}
