import { z } from 'zod';
import { PanelReading, RecordedReadingsBody } from '../product/panel-sensor.js';
import { apiPath, endpoint, errors, named, ownPanelOr } from './endpoint.js';
import { PanelParams } from './params.js';

/** A reading of a panel's own sensor as the backend keeps it. */
export const StoredPanelReading = z.object({ reading: PanelReading, receivedAt: z.string() });
export type StoredPanelReading = z.infer<typeof StoredPanelReading>;

export const PanelReadingsQuery = z.object({
  afterSeq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5_000).default(500),
});

export const RecordedReadings = z.object({ recorded: z.array(z.uuid()) });
export type RecordedReadings = z.infer<typeof RecordedReadings>;

/** Readings of a panel's own sensor, sent by the panel over MQTT. */
export const panelReadingEndpoints = {
  listPanelSensorReadings: endpoint({
    method: 'GET',
    path: apiPath('/panels/{panelId}/sensor-readings'),
    operationId: 'listPanelSensorReadings',
    tag: 'panels',
    auth: ownPanelOr('viewer'),
    summary: "Readings of the panel's own sensor, in the order it took them",
    params: PanelParams,
    query: PanelReadingsQuery,
    responses: {
      200: {
        description: 'Readings with when the backend received each, oldest first',
        schema: named('StoredPanelReadingList', z.array(StoredPanelReading)),
      },
      ...errors(400, 401, 403, 404),
    },
  }),
  recordedPanelSensorReadings: endpoint({
    method: 'POST',
    path: apiPath('/panels/{panelId}/sensor-readings/recorded'),
    operationId: 'recordedPanelSensorReadings',
    tag: 'panels',
    auth: ownPanelOr('operator'),
    summary: 'Which of these readings of its own sensor the backend recorded (the panel then forgets them)',
    params: PanelParams,
    body: named('RecordedReadingsBody', RecordedReadingsBody),
    responses: {
      200: { description: 'The ids among those asked that are recorded', schema: named('RecordedReadings', RecordedReadings) },
      ...errors(400, 401, 403, 404),
    },
  }),
};
