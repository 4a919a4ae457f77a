import type { PanelSummary, UpdateReport } from '@airpanel/contract';
import type { PanelUpdateState } from '@airpanel/contract/api';

/**
 * What the releases page says about the fleet: which versions the panels run, and the
 * panels whose last update failed or was rolled back, or that have seen no valid manifest
 * for days (a withheld or frozen feed).
 */

export interface PanelRelease {
  panelId: string;
  name: string;
  channel: string | null;
  /** The version it reports running (its update report, else its status). */
  version: string | null;
  lastUpdate: UpdateReport | null;
  noValidManifestSince: string | null;
}

/** One row per panel the backend knows, from either list, joined by id. */
export function panelReleases(
  updates: readonly PanelUpdateState[],
  panels: readonly Pick<PanelSummary, 'id' | 'name' | 'firmwareVersion'>[],
): PanelRelease[] {
  const byId = new Map(updates.map((u) => [u.panelId, u]));
  const ids = [...new Set([...panels.map((p) => p.id), ...updates.map((u) => u.panelId)])];
  return ids.map((panelId) => {
    const update = byId.get(panelId);
    const panel = panels.find((p) => p.id === panelId);
    return {
      panelId,
      name: panel?.name ?? panelId,
      channel: update?.channel ?? null,
      version: update?.runningVersion ?? update?.statusFirmwareVersion ?? panel?.firmwareVersion ?? null,
      lastUpdate: update?.lastUpdate ?? null,
      noValidManifestSince: update?.noValidManifestSince ?? update?.lastUpdate?.noValidManifestSince ?? null,
    };
  });
}

/** Versions by how many panels run them, most first (`null`: panels that never said). */
export function versionsRun(rows: readonly PanelRelease[]): { version: string | null; count: number }[] {
  const counts = new Map<string | null, number>();
  for (const row of rows) counts.set(row.version, (counts.get(row.version) ?? 0) + 1);
  return [...counts.entries()]
    .map(([version, count]) => ({ version, count }))
    .sort((a, b) => b.count - a.count || String(a.version).localeCompare(String(b.version)));
}

export type ReleaseProblemKind = 'failed' | 'rolled-back' | 'no-valid-manifest';

export interface ReleaseProblem {
  kind: ReleaseProblemKind;
  panelId: string;
  name: string;
  /** The version it tried (failed, rolled back). */
  targetVersion: string | null;
  detail: string | null;
  at: string | null;
}

/** Failed installs and rollbacks (the panel's last update), and panels without a valid manifest for days; newest first. */
export function releaseProblems(rows: readonly PanelRelease[]): ReleaseProblem[] {
  const problems: ReleaseProblem[] = [];
  for (const row of rows) {
    const update = row.lastUpdate;
    if (update && (update.phase === 'failed' || update.phase === 'rolled-back')) {
      problems.push({
        kind: update.phase,
        panelId: row.panelId,
        name: row.name,
        targetVersion: update.targetVersion,
        detail: update.detail,
        at: update.at,
      });
    }
    if (row.noValidManifestSince) {
      problems.push({
        kind: 'no-valid-manifest',
        panelId: row.panelId,
        name: row.name,
        targetVersion: null,
        detail: null,
        at: row.noValidManifestSince,
      });
    }
  }
  return problems.sort((a, b) => String(b.at).localeCompare(String(a.at)));
}
