import { SensorSource, type SensorSourceBody, type SensorSourceCreateBody } from '@airpanel/contract';
import { sensorSourceEndpoints as endpoints } from '@airpanel/contract/api';
import { definitionRoutes } from '../definitions/routes.js';
import type { DefinitionKind, DefinitionService } from '../definitions/service.js';
import type { BoundRoute } from '../http/route.js';

/** Sensor sources: simulated, polled from a vendor (http-json), or a panel's own sensor. A change is fetched again at once. */
export const SENSOR_SOURCES: DefinitionKind<SensorSource> = {
  what: 'sensor source',
  table: 'sensor_sources',
  idPrefix: 'sensor',
  reference: 'sensor_source_id',
  parse: (json) => SensorSource.parse(json),
};

export type SensorSourceService = DefinitionService<SensorSource, SensorSourceCreateBody, SensorSourceBody>;

export function sensorSourceRoutes(service: SensorSourceService): BoundRoute[] {
  return definitionRoutes(
    {
      list: endpoints.listSensorSources,
      create: endpoints.createSensorSource,
      get: endpoints.getSensorSource,
      replace: endpoints.replaceSensorSource,
      delete: endpoints.deleteSensorSource,
    },
    service,
    'sensorId',
  );
}
