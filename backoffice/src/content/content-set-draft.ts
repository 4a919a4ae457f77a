import { DEFAULT_CONTENT_SET, type ContentSet, type LevelScheme, type PanelSummary } from '@airpanel/contract';
import type { LevelContentDraft } from './preview-document.js';

/**
 * The content set form's model: what the operator edits (strings, possibly not valid yet),
 * made from a stored set and turned back into the request body the contract's schema checks.
 */
export interface ContentSetDraft {
  /** Only for a new set: the id to create it under (empty: the backend makes one). */
  id: string;
  name: string;
  locale: string;
  byLevel: Record<string, LevelContentDraft>;
}

export function draftOf(set: ContentSet): ContentSetDraft {
  const byLevel: Record<string, LevelContentDraft> = {};
  for (const [levelId, content] of Object.entries(set.byLevel)) byLevel[levelId] = { ...content };
  return { id: set.id, name: set.name, locale: set.locale, byLevel };
}

/** The body of a replace (`ContentSetBody`), or of a create with the id when one was given. */
export function bodyOf(draft: ContentSetDraft, options: { withId: boolean }) {
  const byLevel: Record<string, LevelContentDraft> = {};
  for (const [levelId, content] of Object.entries(draft.byLevel)) byLevel[levelId] = { ...content };
  const body = { name: draft.name, locale: draft.locale, byLevel };
  return options.withId && draft.id.trim() !== '' ? { ...body, id: draft.id.trim() } : body;
}

/** What a level gets when the operator adds it: the default texts for that level id, or neutral ones. */
export function newLevelContent(levelId: string, label: string): LevelContentDraft {
  const known = DEFAULT_CONTENT_SET.byLevel[levelId];
  if (known) return { ...known };
  return { headline: `Air quality: ${label}`, message: '', background: '#20262d', foreground: '#ffffff', icon: 'info' };
}

/** A new set with content for every level of `scheme`. */
export function newDraft(scheme: LevelScheme | undefined): ContentSetDraft {
  const byLevel: Record<string, LevelContentDraft> = {};
  for (const level of scheme?.levels ?? []) byLevel[level.id] = newLevelContent(level.id, level.label);
  return { id: '', name: '', locale: 'en', byLevel };
}

export interface EditedLevel {
  id: string;
  label: string;
  /** The set has content for it. */
  present: boolean;
  /** The scheme has it (a level only the set has is shown after the scheme's, by its id). */
  inScheme: boolean;
}

/** The levels to edit, in the scheme's order (best first), then the set's own other levels. */
export function levelsToEdit(draft: ContentSetDraft, scheme: LevelScheme | undefined): EditedLevel[] {
  const levels: EditedLevel[] = (scheme?.levels ?? []).map((level) => ({
    id: level.id,
    label: level.label,
    present: level.id in draft.byLevel,
    inScheme: true,
  }));
  for (const levelId of Object.keys(draft.byLevel)) {
    if (!levels.some((level) => level.id === levelId)) levels.push({ id: levelId, label: levelId, present: true, inScheme: false });
  }
  return levels;
}

/** The scheme to label the preview with: the one most panels using the set have, else the default, else the first. */
export function schemeForSet(setId: string, schemes: readonly LevelScheme[], panels: readonly PanelSummary[]): LevelScheme | undefined {
  const counts = new Map<string, number>();
  for (const panel of panels) {
    if (panel.contentSetId === setId) counts.set(panel.levelSchemeId, (counts.get(panel.levelSchemeId) ?? 0) + 1);
  }
  const used = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return schemes.find((s) => s.id === used) ?? schemes.find((s) => s.id === 'eaqi-3') ?? schemes[0];
}
