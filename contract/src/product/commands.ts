import { z } from 'zod';
import { PanelReading } from './panel-sensor.js';
import { Identifier, IsoDateTime } from './primitives.js';
import { PanelStateName } from './status.js';

export const COMMAND_KINDS = ['reload', 'restart', 'check-update', 'screenshot'] as const;
export const CommandKind = z.enum(COMMAND_KINDS);
export type CommandKind = z.infer<typeof CommandKind>;

/** What an admin posts to send a command to a panel. */
export const CommandBody = z.object({
  kind: CommandKind,
});
export type CommandBody = z.infer<typeof CommandBody>;

/** Published by the backend (QoS 1, not retained) on the panel's commands topic. */
export const Command = z.object({
  id: z.uuid(),
  panelId: Identifier,
  kind: CommandKind,
  issuedAt: IsoDateTime,
  /** A panel ignores a command that arrives after this (e.g. queued while it was off for days). */
  expiresAt: IsoDateTime,
});
export type Command = z.infer<typeof Command>;

export const CommandAckStatus = z.enum(['accepted', 'done', 'failed', 'rejected']);
export type CommandAckStatus = z.infer<typeof CommandAckStatus>;

export const CommandAck = z.object({
  commandId: z.uuid(),
  panelId: Identifier,
  status: CommandAckStatus,
  detail: z.string().max(1000).nullable(),
  at: IsoDateTime,
});
export type CommandAck = z.infer<typeof CommandAck>;

/** A command as the backend records it, with the acks it received. */
export const CommandRecord = Command.extend({
  acks: z.array(CommandAck.omit({ panelId: true, commandId: true })),
});
export type CommandRecord = z.infer<typeof CommandRecord>;

/** Events a panel publishes on its events topic. */
export const PanelEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('command-ack'), ack: CommandAck }),
  z.object({
    type: z.literal('state-transition'),
    panelId: Identifier,
    from: PanelStateName,
    to: PanelStateName,
    reason: z.string().max(500),
    at: IsoDateTime,
  }),
  /** The panel decided a level alone (backend away) and the backend's next document said another. */
  z.object({
    type: z.literal('level-disagreement'),
    panelId: Identifier,
    ownLevel: z.string().max(32),
    backendLevel: z.string().max(32),
    backendRevision: z.number().int().min(1),
    at: IsoDateTime,
  }),
  /** A reading of the panel's own sensor (kept on the panel's disk until acknowledged). */
  z.object({ type: z.literal('sensor-reading'), reading: PanelReading }),
]);
export type PanelEvent = z.infer<typeof PanelEvent>;
