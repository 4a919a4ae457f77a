import { z } from 'zod';
import { SensorSourceCreateBody } from '../product/backend-api.js';
import { Identifier } from '../product/primitives.js';
import { SensorSource, SensorSourceBody } from '../product/sensors.js';
import { apiPath, endpoint, errors, named } from './endpoint.js';

export const SensorParams = z.object({ sensorId: Identifier });
const sensorSource = named('SensorSource', SensorSource);

export const sensorSourceEndpoints = {
  listSensorSources: endpoint({
    method: 'GET',
    path: apiPath('/sensors'),
    operationId: 'listSensorSources',
    tag: 'sensors',
    auth: 'viewer',
    summary: 'Sensor sources',
    responses: { 200: { description: 'Sensor sources', schema: named('SensorSourceList', z.array(SensorSource)) }, ...errors(401, 403) },
  }),
  createSensorSource: endpoint({
    method: 'POST',
    path: apiPath('/sensors'),
    operationId: 'createSensorSource',
    tag: 'sensors',
    auth: 'operator',
    summary: 'Add a sensor source (simulated, or http-json polled from a vendor)',
    body: named('SensorSourceCreateBody', SensorSourceCreateBody),
    responses: { 201: { description: 'Created', schema: sensorSource }, ...errors(400, 401, 403, 409) },
  }),
  getSensorSource: endpoint({
    method: 'GET',
    path: apiPath('/sensors/{sensorId}'),
    operationId: 'getSensorSource',
    tag: 'sensors',
    auth: 'viewer',
    summary: 'One sensor source',
    params: SensorParams,
    responses: { 200: { description: 'The sensor source', schema: sensorSource }, ...errors(400, 401, 403, 404) },
  }),
  replaceSensorSource: endpoint({
    method: 'PUT',
    path: apiPath('/sensors/{sensorId}'),
    operationId: 'replaceSensorSource',
    tag: 'sensors',
    auth: 'operator',
    summary: 'Replace a sensor source (it is fetched again at once)',
    params: SensorParams,
    body: named('SensorSourceBody', SensorSourceBody),
    responses: { 200: { description: 'Replaced', schema: sensorSource }, ...errors(400, 401, 403, 404) },
  }),
  deleteSensorSource: endpoint({
    method: 'DELETE',
    path: apiPath('/sensors/{sensorId}'),
    operationId: 'deleteSensorSource',
    tag: 'sensors',
    auth: 'operator',
    summary: 'Delete a sensor source no panel uses',
    params: SensorParams,
    responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409) },
  }),
};
