import { z } from 'zod';
import { Identifier, shortText } from './primitives.js';
import { Pollutant } from './readings.js';

export const LevelId = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a level id: lowercase, starting with a letter');
export type LevelId = z.infer<typeof LevelId>;

export const LevelDefinition = z.object({
  id: LevelId,
  label: shortText(60),
});
export type LevelDefinition = z.infer<typeof LevelDefinition>;

export const Hysteresis = z.object({
  /**
   * A level changes at once only when the deciding value is past the breakpoint by this
   * fraction of the breakpoint (0.1 = 10 %).
   */
  marginFraction: z.number().min(0).max(0.5),
  /** Inside the margin band, a new level is taken only after it held this long. */
  minDwellSeconds: z.number().int().min(0).max(86_400),
});
export type Hysteresis = z.infer<typeof Hysteresis>;

/**
 * An ordered scale of levels, best first, and per pollutant the breakpoints between them:
 * `breakpoints.pm25 = [20, 50]` means below 20 → levels[0], from 20 → levels[1], from 50 →
 * levels[2]. The worst pollutant decides.
 */
const LevelSchemeFields = z.object({
  name: shortText(120),
  levels: z.array(LevelDefinition).min(2).max(8),
  breakpoints: z.partialRecord(Pollutant, z.array(z.number().finite().positive()).min(1).max(7)),
  hysteresis: Hysteresis,
});

function checkLevelScheme(scheme: z.infer<typeof LevelSchemeFields>, ctx: z.RefinementCtx): void {
  const ids = new Set(scheme.levels.map((l) => l.id));
  if (ids.size !== scheme.levels.length) ctx.addIssue({ code: 'custom', path: ['levels'], message: 'level ids must be unique' });
  const pollutants = Object.entries(scheme.breakpoints);
  if (pollutants.length === 0) ctx.addIssue({ code: 'custom', path: ['breakpoints'], message: 'at least one pollutant needs breakpoints' });
  for (const [pollutant, bps] of pollutants) {
    if (!bps) continue;
    if (bps.length !== scheme.levels.length - 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['breakpoints', pollutant],
        message: `needs ${scheme.levels.length - 1} breakpoints (one fewer than levels), got ${bps.length}`,
      });
    }
    for (let i = 1; i < bps.length; i++) {
      if (!(bps[i]! > bps[i - 1]!)) {
        ctx.addIssue({ code: 'custom', path: ['breakpoints', pollutant, i], message: 'breakpoints must strictly increase' });
      }
    }
  }
}

/** What an operator sends to create or replace a level scheme. */
export const LevelSchemeBody = LevelSchemeFields.superRefine(checkLevelScheme);
export type LevelSchemeBody = z.infer<typeof LevelSchemeBody>;

/** A stored level scheme; also carried in every DisplayDocument as the panel's thresholds. */
export const LevelScheme = LevelSchemeFields.extend({ id: Identifier }).superRefine(checkLevelScheme);
export type LevelScheme = z.infer<typeof LevelScheme>;
