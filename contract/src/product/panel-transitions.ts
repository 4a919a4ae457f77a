import { z } from 'zod';
import { IsoDateTime } from './primitives.js';
import { PanelStateName } from './status.js';

/**
 * A change the backend saw in what a panel reports, kept per panel (the newest 500):
 * `state` when the reported state differs from the one before (`from` null for the first
 * state on record), `connection` when the panel came online or went offline (its last will).
 * `at` is when the backend received the report; `id` orders them and pages the list.
 */
export const PanelTransition = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('state'),
    id: z.number().int().min(1),
    at: IsoDateTime,
    from: PanelStateName.nullable(),
    to: PanelStateName,
    reason: z.string().max(500),
  }),
  z.object({
    kind: z.literal('connection'),
    id: z.number().int().min(1),
    at: IsoDateTime,
    online: z.boolean(),
    reason: z.string().max(500),
  }),
]);
export type PanelTransition = z.infer<typeof PanelTransition>;

/** How many transitions the backend keeps per panel (older ones are pruned on insert). */
export const PANEL_TRANSITIONS_KEPT = 500;
