/**
 * Text/background contrast as WCAG 2 defines it: the relative luminance of each sRGB colour,
 * and their ratio (L1 + 0.05) / (L2 + 0.05), from 1:1 to 21:1. A panel's texts are large
 * (headline and level name bold, the message far above 18 pt at any panel size), so the
 * threshold is AA for large text: 3:1.
 */

export const AA_LARGE_TEXT_RATIO = 3;

/** `#rrggbb` → its channels 0..255, or null for anything else. */
export function parseHexColor(hex: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return null;
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** One sRGB channel (0..255) in linear light. */
function linearChannel(value: number): number {
  const c = value / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Relative luminance of a `#rrggbb` colour: 0 (black) to 1 (white); null if not a colour. */
export function relativeLuminance(hex: string): number | null {
  const rgb = parseHexColor(hex);
  if (!rgb) return null;
  const [r, g, b] = rgb.map(linearChannel) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The contrast ratio of two `#rrggbb` colours (order does not matter); null if either is not a colour. */
export function contrastRatio(a: string, b: string): number | null {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  if (la === null || lb === null) return null;
  const [hi, lo] = la >= lb ? [la, lb] : [lb, la];
  return (hi + 0.05) / (lo + 0.05);
}

/** Whether text in `foreground` on `background` meets WCAG AA for large text (3:1). */
export function meetsLargeTextAA(foreground: string, background: string): boolean {
  const ratio = contrastRatio(foreground, background);
  return ratio !== null && ratio >= AA_LARGE_TEXT_RATIO;
}

/** A ratio as people read it: `4.5:1` (one decimal, truncated so 2.99 never reads as 3.0). */
export function formatRatio(ratio: number): string {
  return `${(Math.floor(ratio * 10) / 10).toFixed(1)}:1`;
}
