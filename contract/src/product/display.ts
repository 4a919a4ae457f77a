import { z } from 'zod';
import { Identifier, IsoDateTime, shortText } from './primitives.js';
import { LevelContent } from './content.js';
import { LevelId, LevelScheme } from './levels.js';
import { Pollutant, PollutantValues } from './readings.js';

/** A panel drops any document larger than this before parsing it (bytes of UTF-8 JSON). */
export const DISPLAY_DOCUMENT_MAX_BYTES = 64 * 1024;

export const DisplayLevel = z.object({
  id: LevelId,
  label: shortText(60),
  /** 0 = best. */
  index: z.number().int().min(0),
  /** How many levels the scheme has, so a renderer can draw a scale. */
  of: z.number().int().min(2),
});
export type DisplayLevel = z.infer<typeof DisplayLevel>;

export const ReadingsSummary = z.object({
  measuredAt: IsoDateTime,
  source: shortText(200),
  values: PollutantValues,
  /** The pollutant that decided the level, if any. */
  dominant: Pollutant.nullable(),
});
export type ReadingsSummary = z.infer<typeof ReadingsSummary>;

/**
 * What one panel must show now. The backend issues a new one, with a higher `revision`,
 * whenever anything the panel shows changes; revisions only grow, also across restarts.
 * Served over REST with an ETag and published retained on the panel's display topic.
 */
export const DisplayDocument = z.object({
  schemaVersion: z.literal(1),
  panelId: Identifier,
  revision: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: IsoDateTime,
  /** After this the backend no longer vouches for the content; the panel shows it as stale. */
  validUntil: IsoDateTime,
  level: DisplayLevel,
  /** Null while no reading has arrived for this panel's sensor. */
  readings: ReadingsSummary.nullable(),
  content: LevelContent,
  locale: z.string().min(2).max(35),
  /** The thresholds, so a panel can evaluate a local sensor with the same rules later. */
  scheme: LevelScheme,
  /**
   * Contract 1.1 (additive, so `schemaVersion` stays 1 and panels of contract 1.0, whose schema
   * strips unknown keys, keep taking these documents): the content of EVERY level of `scheme`,
   * by level id, so a panel whose backend is away can show the level its own sensor gives.
   * Absent in documents of older backends: such a panel then only shows the stale content.
   */
  contentByLevel: z.record(LevelId, LevelContent).optional(),
  /** 1 when `contentByLevel` is there (contract 1.1); absent = 1.0. */
  minorVersion: z.number().int().min(0).max(1000).optional(),
});
export type DisplayDocument = z.infer<typeof DisplayDocument>;

/** The HTTP entity tag of a document: its panel and revision identify it exactly. */
export function displayETag(doc: Pick<DisplayDocument, 'panelId' | 'revision'>): string {
  return `"${doc.panelId}.${doc.revision}"`;
}
