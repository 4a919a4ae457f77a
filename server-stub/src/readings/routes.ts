import { readingEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, ok, type BoundRoute } from '../http/route.js';
import type { ReadingService } from './service.js';

export function readingRoutes(readings: ReadingService): BoundRoute[] {
  return [
    bindRoute(endpoints.postReading, async ({ params, body }) => ok(await readings.post(params.sensorId, body), 201)),
    bindRoute(endpoints.listReadings, ({ params, query }) => ok(readings.list(params.sensorId, query.limit))),
  ];
}
