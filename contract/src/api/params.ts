import { z } from 'zod';
import { Identifier } from '../product/primitives.js';

/** Path parameters and queries several resources share. */
export const PanelParams = z.object({ panelId: Identifier });
export const LimitQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
