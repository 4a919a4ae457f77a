import { z } from 'zod';
import { Identifier, IsoDateTime } from './primitives.js';
import { PanelSensorReport } from './panel-sensor.js';

/** The panel states of the firmware's state machine (see src-main/core). */
export const PANEL_STATE_NAMES = ['booting', 'showing-cached', 'live', 'stale', 'maintenance'] as const;
export const PanelStateName = z.enum(PANEL_STATE_NAMES);
export type PanelStateName = z.infer<typeof PanelStateName>;

/** Status of the last OTA attempt, filled by the updater (null until one ran). */
export const UpdateReport = z.object({
  phase: z.enum([
    'idle',
    'checking',
    'downloading',
    'verifying',
    'installing',
    'pending-restart',
    'trial',
    'committed',
    'rolled-back',
    'failed',
  ]),
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
 * Why the panel app last started (src-main/core/restart-reason.ts): from the unit's own stop
 * record (systemd's $SERVICE_RESULT/$EXIT_CODE/$EXIT_STATUS, kept by its ExecStopPost=), the
 * boot id, the OTA loader's relaunch (the previous run's exit), and the booted RAUC slot
 * against the one last activated.
 */
export const LAST_START_REASONS = [
  'first-start', // no earlier start recorded on this data partition
  'power-loss', // a new boot, and the previous one ended without the app being stopped
  'reboot', // a new boot after an orderly shutdown
  'os-update', // a new boot into the other slot, activated by an OS update
  'slot-fallback', // a new boot, but not into the slot last activated: the bootloader fell back
  'watchdog', // systemd's watchdog ended the previous run (no WATCHDOG=1 in time)
  'killed', // the previous run ended by a signal
  'crash', // the previous run exited with an error (or dumped core)
  'start-timeout', // the previous run never sent READY=1 within the start timeout
  'stopped', // the unit was stopped or restarted on purpose (systemctl)
  'app-restart', // the app asked its loader for a restart (restart command, exit 75)
  'app-update', // the loader started another bundle version (an OTA install)
  'app-rollback', // the loader went back to an earlier bundle version (a failed trial)
  'app-exit', // the app ended on its own and its loader started it again
  'unknown',
] as const;
export const LastStartReason = z.enum(LAST_START_REASONS);
export type LastStartReason = z.infer<typeof LastStartReason>;

export const LastStart = z.object({
  reason: LastStartReason,
  /** When this start happened (the panel's wall clock). */
  at: IsoDateTime,
  detail: z.string().max(300).nullable(),
  /** The RAUC slot booted (`rauc.slot=` on the kernel command line); null off a RAUC image. */
  bootedSlot: z.string().max(16).nullable(),
});
export type LastStart = z.infer<typeof LastStart>;

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
  ownDecision: z
    .object({ levelId: z.string().max(32), since: IsoDateTime })
    .nullable()
    .optional(),
  /** Why the app last started; absent from panels that predate it, null when not known. */
  lastStart: LastStart.nullable().optional(),
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
