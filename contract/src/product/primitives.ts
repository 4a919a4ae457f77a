import { z } from 'zod';

/**
 * Identifier of a panel, content set, level scheme or sensor source. It appears in MQTT
 * topics and URLs, so it may not contain `/`, `+`, `#` or anything needing escaping.
 */
export const Identifier = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{2,62}$/, 'lowercase letters, digits and "-", 3 to 63 characters, starting with a letter or digit');
export type Identifier = z.infer<typeof Identifier>;

/** ISO 8601 timestamp with offset, as produced by `Date.prototype.toISOString`. */
export const IsoDateTime = z.iso.datetime({ offset: true });
export type IsoDateTime = z.infer<typeof IsoDateTime>;

/** `#rrggbb`: colours an operator picks for a level. */
export const HexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb');

/** A short human text (names, headlines): trimmed, no control characters. */
export function shortText(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');
}

/** Free operator text (messages): newlines allowed, other control characters not. */
export function longText(max: number) {
  return z
    .string()
    .max(max)
    .regex(/^[^\u0000-\u0009\u000b-\u001f\u007f]*$/, 'no control characters other than newline');
}

/** Error body of every non-2xx answer of the backend API. */
export const ApiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;
