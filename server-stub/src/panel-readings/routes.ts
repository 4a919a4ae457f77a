import { panelReadingEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, ok, type BoundRoute } from '../http/route.js';
import type { PanelReadingsService } from './service.js';

/**
 * `GET /api/v1/panels/{panelId}/sensor-readings?afterSeq=&limit=`: the readings a panel's own
 * sensor sent, in the order it took them (seq), each with when the backend received it;
 * `POST …/sensor-readings/recorded`: which of these the backend has (the panel then forgets them).
 */
export function panelReadingRoutes(readings: PanelReadingsService): BoundRoute[] {
  return [
    bindRoute(endpoints.listPanelSensorReadings, ({ params, query }) => ok(readings.list(params.panelId, query.afterSeq, query.limit))),
    bindRoute(endpoints.recordedPanelSensorReadings, ({ params, body }) => ok({ recorded: readings.recorded(params.panelId, body.ids) })),
  ];
}
