import { z } from 'zod';
import { HexColor, Identifier, longText, shortText } from './primitives.js';
import { LevelId } from './levels.js';

/** Icons bundled with the renderer (no network resources on a panel). */
export const ICON_NAMES = ['leaf', 'smile', 'neutral', 'frown', 'mask', 'warning', 'info', 'wind'] as const;
export const IconName = z.enum(ICON_NAMES);
export type IconName = z.infer<typeof IconName>;

/** Caps on operator text: what a roadside panel can show, and what keeps documents small. */
export const HEADLINE_MAX = 120;
export const MESSAGE_MAX = 2_000;

/** What a panel shows for one level. Text is always rendered as text, never as HTML. */
export const LevelContent = z.object({
  headline: shortText(HEADLINE_MAX),
  message: longText(MESSAGE_MAX),
  background: HexColor,
  foreground: HexColor,
  icon: IconName,
});
export type LevelContent = z.infer<typeof LevelContent>;

const ContentSetFields = z.object({
  name: shortText(120),
  /** BCP 47 tag of the texts, e.g. `en`, `fr-BE`, `ar`; the renderer sets `lang` and direction from it. */
  locale: z
    .string()
    .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'a BCP 47 language tag')
    .default('en'),
  byLevel: z.record(LevelId, LevelContent),
});

/** What an operator sends to create or replace a content set. */
export const ContentSetBody = ContentSetFields;
export type ContentSetBody = z.infer<typeof ContentSetBody>;

export const ContentSet = ContentSetFields.extend({ id: Identifier });
export type ContentSet = z.infer<typeof ContentSet>;
