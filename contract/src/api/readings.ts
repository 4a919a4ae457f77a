import { z } from 'zod';
import { ReadingBody } from '../product/backend-api.js';
import { Reading } from '../product/readings.js';
import { apiPath, endpoint, errors, named } from './endpoint.js';
import { LimitQuery } from './params.js';
import { SensorParams } from './sensors.js';

/** Readings of a sensor source (a simulated one takes them by hand). */
export const readingEndpoints = {
  postReading: endpoint({
    method: 'POST',
    path: apiPath('/sensors/{sensorId}/readings'),
    operationId: 'postReading',
    tag: 'sensors',
    auth: 'operator',
    summary: 'Record a reading of a simulated sensor source',
    description: 'Panels using the source are re-evaluated at once; a level change issues new documents.',
    params: SensorParams,
    body: named('ReadingBody', ReadingBody),
    responses: { 201: { description: 'Recorded', schema: named('Reading', Reading) }, ...errors(400, 401, 403, 404, 409) },
  }),
  listReadings: endpoint({
    method: 'GET',
    path: apiPath('/sensors/{sensorId}/readings'),
    operationId: 'listReadings',
    tag: 'sensors',
    auth: 'viewer',
    summary: 'Recent readings of a sensor source, newest first',
    params: SensorParams,
    query: LimitQuery,
    responses: { 200: { description: 'Readings', schema: named('ReadingList', z.array(Reading)) }, ...errors(400, 401, 403, 404) },
  }),
};
