import { z } from 'zod';
import { Identifier, shortText } from './primitives.js';
import { Pollutant } from './readings.js';

/**
 * A dotted path into a vendor's JSON answer, e.g. `data.pm25` or `sensors.0.value`.
 * Kept to plain keys and indexes so no expression language is evaluated.
 */
export const JsonFieldPath = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted path such as data.pm25');

/** Readings set by hand through the admin API: demos, tests and the simulator. */
export const SimulatedSensorSpec = z.object({
  kind: z.literal('simulated'),
});

/** Polls a vendor URL that answers JSON, mapping fields to pollutants. */
export const HttpJsonSensorSpec = z.object({
  kind: z.literal('http-json'),
  url: z.url({ protocol: /^https?$/ }),
  fieldMap: z.partialRecord(Pollutant, JsonFieldPath).refine((m) => Object.keys(m).length > 0, 'map at least one pollutant'),
  /** Field with the measurement time (ISO 8601 or epoch seconds); absent → time of fetch. */
  measuredAtField: JsonFieldPath.optional(),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(1024)).optional(),
  timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  retries: z.number().int().min(0).max(5).default(2),
});

/**
 * The readings a panel's own sensor sends back (README "Panel readings"). The backend creates
 * this source itself when the panel's first reading arrives; readings cannot be posted to it.
 */
export const PanelSensorSpec = z.object({
  kind: z.literal('panel'),
  panelId: Identifier,
});

export const SensorSpec = z.discriminatedUnion('kind', [SimulatedSensorSpec, HttpJsonSensorSpec, PanelSensorSpec]);
export type SensorSpec = z.infer<typeof SensorSpec>;

export const SensorSourceBody = z.object({
  name: shortText(120),
  spec: SensorSpec,
});
export type SensorSourceBody = z.infer<typeof SensorSourceBody>;

export const SensorSource = SensorSourceBody.extend({ id: Identifier });
export type SensorSource = z.infer<typeof SensorSource>;
