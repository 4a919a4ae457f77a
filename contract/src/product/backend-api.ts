import { z } from 'zod';
import { ContentSetBody } from './content.js';
import { LevelSchemeBody } from './levels.js';
import { Identifier, IsoDateTime } from './primitives.js';
import { PollutantValues } from './readings.js';
import { SensorSourceBody } from './sensors.js';

/**
 * Request bodies of the backend's admin API that the shapes above do not cover on their own.
 * Creating a resource takes the same body as replacing it plus an optional chosen id
 * (generated when absent), so an operator can use stable, readable ids.
 */

export const SensorSourceCreateBody = SensorSourceBody.extend({ id: Identifier.optional() });
export type SensorSourceCreateBody = z.infer<typeof SensorSourceCreateBody>;

export const ContentSetCreateBody = ContentSetBody.extend({ id: Identifier.optional() });
export type ContentSetCreateBody = z.infer<typeof ContentSetCreateBody>;

// safeExtend keeps the scheme's consistency checks (unique ids, breakpoint counts).
export const LevelSchemeCreateBody = LevelSchemeBody.safeExtend({ id: Identifier.optional() });
export type LevelSchemeCreateBody = z.infer<typeof LevelSchemeCreateBody>;

/** A reading posted by hand for a simulated sensor source; absent time = time of arrival. */
export const ReadingBody = z.object({
  values: PollutantValues,
  measuredAt: IsoDateTime.optional(),
});
export type ReadingBody = z.infer<typeof ReadingBody>;

/** The answer to rotating a panel's API key: like a registration, shown only once. */
export const ApiKeyRotation = z.object({
  panelId: Identifier,
  apiKey: z.string().min(32).max(128),
});
export type ApiKeyRotation = z.infer<typeof ApiKeyRotation>;
