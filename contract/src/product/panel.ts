import { z } from 'zod';
import { Identifier, IsoDateTime, shortText } from './primitives.js';
import { PANEL_STATE_NAMES } from './status.js';
import { PanelSensorReport } from './panel-sensor.js';

export const Location = z.object({
  description: shortText(200),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
});
export type Location = z.infer<typeof Location>;

/** What an admin sends to create a panel; unset references take the backend's defaults. */
export const PanelCreateBody = z.object({
  /** Optional chosen id (e.g. an asset tag); generated when absent. */
  id: Identifier.optional(),
  name: shortText(120),
  location: Location.optional(),
  sensorSourceId: Identifier.nullable().optional(),
  contentSetId: Identifier.optional(),
  levelSchemeId: Identifier.optional(),
});
export type PanelCreateBody = z.infer<typeof PanelCreateBody>;

/** Partial update of a panel; `null` sensor unassigns it. */
export const PanelUpdateBody = z
  .object({
    name: shortText(120),
    location: Location.nullable(),
    sensorSourceId: Identifier.nullable(),
    contentSetId: Identifier,
    levelSchemeId: Identifier,
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');
export type PanelUpdateBody = z.infer<typeof PanelUpdateBody>;

export const Panel = z.object({
  id: Identifier,
  name: shortText(120),
  location: Location.nullable(),
  sensorSourceId: Identifier.nullable(),
  contentSetId: Identifier,
  levelSchemeId: Identifier,
  createdAt: IsoDateTime,
});
export type Panel = z.infer<typeof Panel>;

/** A panel as the fleet listing shows it: its record plus what the backend last heard. */
export const PanelSummary = Panel.extend({
  online: z.boolean(),
  lastSeenAt: IsoDateTime.nullable(),
  state: z.enum(PANEL_STATE_NAMES).nullable(),
  firmwareVersion: z.string().nullable(),
  currentRevision: z.number().int().nullable(),
  displayedRevision: z.number().int().nullable(),
  /** True when the panel reports a revision older than the current one. */
  lagging: z.boolean(),
  lastError: z.string().nullable(),
  /** The panel's own sensor as it last reported it (null: none, or not reported). */
  ownSensor: PanelSensorReport.nullable().default(null),
});
export type PanelSummary = z.infer<typeof PanelSummary>;
