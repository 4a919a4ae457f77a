import { z } from 'zod';
import { Identifier, IsoDateTime } from './primitives.js';
import { PanelSensorReport } from './panel-sensor.js';

/** The panel states of the firmware's state machine (see src-main/core). */
export const PANEL_STATE_NAMES = ['booting', 'showing-cached', 'live', 'stale', 'maintenance'] as const;
export const PanelStateName = z.enum(PANEL_STATE_NAMES);
export type PanelStateName = z.infer<typeof PanelStateName>;

/** Status of the last OTA attempt, filled by the updater (null until one ran). */
export const UpdateReport = z.object({
  phase: z.enum(['idle', 'checking', 'downloading', 'verifying', 'installing', 'pending-restart', 'trial', 'committed', 'rolled-back', 'failed']),
  targetVersion: z.string().max(64).nullable(),
  progress: z.number().min(0).max(1).nullable(),
  detail: z.string().max(500).nullable(),
  at: IsoDateTime,
  /**
   * Set when the panel has seen no valid signed manifest for longer than its alert threshold
   * (days): the time of the last valid one, or of when it started looking. A withheld or
   * frozen feed looks like this. Absent or null: fine (and from panels that predate it).
   */
  noValidManifestSince: IsoDateTime.nullable().optional(),
});
export type UpdateReport = z.infer<typeof UpdateReport>;

/**
 * Published retained by the panel on its status topic, at every state change and as a
 * heartbeat. The broker publishes the panel's last will (`online: false`) when it vanishes.
 */
export const PanelStatus = z.object({
  panelId: Identifier,
  online: z.boolean(),
  firmwareVersion: z.string().max(64),
  state: PanelStateName,
  stateReason: z.string().max(500),
  displayedRevision: z.number().int().min(0).nullable(),
  uptimeSeconds: z.number().min(0),
  lastError: z.string().max(1000).nullable(),
  /** Short code shown on the maintenance screen, e.g. `CFG-1`; null outside maintenance. */
  maintenanceCode: z.string().max(16).nullable(),
  update: UpdateReport.nullable().optional(),
  /** The panel's own sensor; absent from panels that predate it, null without a sensor. */
  sensor: PanelSensorReport.nullable().optional(),
  /** Set while the panel shows a level it evaluated itself (backend document stale). */
  ownDecision: z.object({ levelId: z.string().max(32), since: IsoDateTime }).nullable().optional(),
  sentAt: IsoDateTime,
});
export type PanelStatus = z.infer<typeof PanelStatus>;

/** What a panel's last will says: offline, everything else unknown. */
export const PanelOfflineWill = z.object({
  panelId: Identifier,
  online: z.literal(false),
});
export type PanelOfflineWill = z.infer<typeof PanelOfflineWill>;

/** Anything that may arrive on a status topic. */
export const StatusMessage = z.union([PanelStatus, PanelOfflineWill]);
export type StatusMessage = z.infer<typeof StatusMessage>;
