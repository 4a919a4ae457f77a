import type { PanelSummary } from '@airpanel/contract';

/**
 * After a content set is saved the backend issues a new document (a higher revision) to every
 * panel using it; each panel then reports the revision it shows. These say where a panel is in
 * that: the page refreshes the panels' summaries until all of them have caught up.
 */
export type CatchUp =
  /** The panel shows a revision issued after the save. */
  | 'updated'
  /** A newer revision is issued (or about to be); the panel does not show it yet. */
  | 'updating'
  /** Offline: it takes the new content when it is back. */
  | 'offline';

/**
 * Where `panel` is, given the current revision it had before the save (`before`; null when it
 * had none). Before the backend has issued the new revision, the panel is `updating`.
 */
export function catchUpOf(panel: Pick<PanelSummary, 'online' | 'currentRevision' | 'displayedRevision'>, before: number | null): CatchUp {
  const issued = panel.currentRevision !== null && (before === null || panel.currentRevision > before);
  const shown = issued && panel.displayedRevision !== null && panel.displayedRevision >= panel.currentRevision!;
  if (shown) return 'updated';
  return panel.online ? 'updating' : 'offline';
}

/** Whether following can stop: no online panel is still updating. */
export function allCaughtUp(
  panels: readonly Pick<PanelSummary, 'id' | 'online' | 'currentRevision' | 'displayedRevision'>[],
  before: ReadonlyMap<string, number | null>,
): boolean {
  return panels.every((panel) => catchUpOf(panel, before.get(panel.id) ?? null) !== 'updating');
}
