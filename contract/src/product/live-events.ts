import { z } from 'zod';
import { AuditEntry } from './accounts.js';
import { Alert } from './alerts.js';
import { CommandAck } from './commands.js';
import { PanelSummary } from './panel.js';

/**
 * What the backend's event stream (`GET /api/v1/events`, server-sent events) carries. Each
 * event is one SSE message without an `event:` name (so `EventSource.onmessage` gets them all),
 * with an `id:` and `data:` = one `LiveEvent` as JSON. Comment lines (`: keep-alive`) are
 * heartbeats.
 *
 * A client that reconnects with `Last-Event-ID` gets the events it missed when the backend
 * still holds them; otherwise its first event is `resync`: reload what it shows.
 */
export const LiveEvent = z.discriminatedUnion('type', [
  /** What the fleet view shows of a panel changed (a status report, online/offline, a state transition, an ack). */
  z.object({ type: z.literal('panel-summary'), panel: PanelSummary }),
  /** A panel acknowledged a command. */
  z.object({ type: z.literal('command-ack'), ack: CommandAck }),
  z.object({ type: z.literal('alert-raised'), alert: Alert }),
  z.object({ type: z.literal('alert-cleared'), alert: Alert }),
  /** A change was recorded in the audit log. */
  z.object({ type: z.literal('audit-appended'), entry: AuditEntry }),
  /** Events were missed (the backend restarted, or no longer holds them): read everything again. */
  z.object({ type: z.literal('resync'), reason: z.string().max(200) }),
]);
export type LiveEvent = z.infer<typeof LiveEvent>;
export type LiveEventType = LiveEvent['type'];
export const LIVE_EVENT_TYPES = LiveEvent.options.map((option) => option.shape.type.value) as readonly LiveEventType[];

/** How often the stream sends a heartbeat comment when no event went out. */
export const LIVE_EVENT_HEARTBEAT_SECONDS = 15;
