import { POLLUTANTS, type LevelScheme, type Pollutant, type PollutantValues } from '@airpanel/contract';
import { PanelView } from '@airpanel/contract/internal';
import { acceptView } from '@airpanel/renderer/lib/accept-view';

/**
 * The view a panel would draw for one level of a content set being edited: a display document
 * of the contract's shape, built from the form's values, with the level's label and place on
 * the scale from a level scheme and sample readings inside that level's band. The preview
 * draws it with the renderer's own components.
 *
 * Form values may be half typed (an empty headline, `#12` as a colour): such a view fails the
 * contract, and is then drawn the way the panel's renderer draws a view that fails it
 * (`acceptView`: texts cut to the caps, unknown colours and icons replaced), with the reason.
 */

/** One level's texts as the form holds them (strings, possibly not valid yet). */
export interface LevelContentDraft {
  headline: string;
  message: string;
  background: string;
  foreground: string;
  icon: string;
}

export interface PreviewInput {
  /** The content set's locale (BCP 47). */
  locale: string;
  /** The texts of the level shown. */
  content: LevelContentDraft;
  levelId: string;
  /** Gives the level its label, its index and the length of the scale, and the sample readings. */
  scheme: LevelScheme;
  now: Date;
}

export type ContentPanelView = Extract<PanelView, { kind: 'content' }>;

export interface PreviewView {
  view: ContentPanelView;
  /** Why the form's values do not make a valid document (drawn leniently meanwhile); null when they do. */
  problem: string | null;
}

export const PREVIEW_PANEL_ID = 'preview';

const round1 = (value: number): number => Math.round(value * 10) / 10;

/**
 * A concentration inside level `index`'s band of `breakpoints` (below the first breakpoint is
 * level 0, from breakpoint i-1 up to breakpoint i is level i): the middle of the band, or a
 * quarter above the last breakpoint for the worst level.
 */
export function sampleInBand(breakpoints: readonly number[], index: number): number {
  if (breakpoints.length === 0) return 0;
  if (index <= 0) return round1(breakpoints[0]! / 2);
  const lower = breakpoints[Math.min(index, breakpoints.length) - 1]!;
  const upper = breakpoints[index];
  return round1(upper === undefined ? lower * 1.25 : (lower + upper) / 2);
}

/** Sample readings that would put a panel at level `index` of `scheme`; the first pollutant with breakpoints dominates. */
export function sampleReadings(scheme: LevelScheme, index: number): { values: PollutantValues; dominant: Pollutant | null } {
  const values: Partial<Record<Pollutant, number>> = {};
  let dominant: Pollutant | null = null;
  for (const pollutant of POLLUTANTS) {
    const breakpoints = scheme.breakpoints[pollutant];
    if (!breakpoints || breakpoints.length === 0) continue;
    values[pollutant] = sampleInBand(breakpoints, index);
    dominant ??= pollutant;
  }
  return { values: values as PollutantValues, dominant };
}

export function buildPreviewView(input: PreviewInput): PreviewView {
  const { scheme, levelId, now } = input;
  const found = scheme.levels.findIndex((level) => level.id === levelId);
  const index = Math.max(0, found);
  const label = found >= 0 ? scheme.levels[found]!.label : levelId;
  const { values, dominant } = sampleReadings(scheme, index);
  const raw = {
    kind: 'content',
    stale: null,
    document: {
      schemaVersion: 1,
      panelId: PREVIEW_PANEL_ID,
      revision: 1,
      issuedAt: now.toISOString(),
      validUntil: new Date(now.getTime() + 3_600_000).toISOString(),
      level: { id: levelId, label, index, of: Math.max(2, scheme.levels.length) },
      readings: Object.keys(values).length > 0 ? { measuredAt: now.toISOString(), source: 'preview', values, dominant } : null,
      content: { ...input.content },
      locale: input.locale,
      scheme,
    },
  };
  const parsed = PanelView.safeParse(raw);
  if (parsed.success && parsed.data.kind === 'content') return { view: parsed.data, problem: null };
  const { view, problem } = acceptView(raw);
  // The lenient form of a content view is a content view (the raw one is an object of kind content).
  return { view: view as ContentPanelView, problem: problem ?? 'the document does not match the contract' };
}
