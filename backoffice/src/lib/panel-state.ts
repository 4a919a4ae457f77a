import type { Alert, PanelSummary } from '@airpanel/contract';

/** How a panel is doing, in the words and colours the fleet and panel pages use. */

export type Tone = 'ok' | 'warn' | 'bad' | 'neutral';

export const STATE_LABELS: Record<NonNullable<PanelSummary['state']>, string> = {
  booting: 'booting',
  'showing-cached': 'showing cached',
  live: 'live',
  stale: 'stale',
  maintenance: 'maintenance',
};

export function stateTone(panel: PanelSummary): Tone {
  // An offline panel's state is only what it last said: not a colour of its own.
  if (!panel.online) return 'neutral';
  switch (panel.state) {
    case 'live':
      return 'ok';
    case 'maintenance':
      return 'bad';
    case 'stale':
    case 'showing-cached':
      return 'warn';
    default:
      return 'neutral';
  }
}

export function stateLabel(panel: PanelSummary): string {
  const label = panel.state ? STATE_LABELS[panel.state] : 'not reported';
  return panel.online || !panel.state ? label : `${label} (last reported)`;
}

/**
 * Lagging as the fleet flags it: the panel has shown an older revision than the current one
 * for longer than the lagging threshold (an active `lagging` alert). A revision issued a
 * moment ago and not yet shown is ordinary and only "catching up".
 */
export function isFlaggedLagging(panel: PanelSummary, activeAlerts: readonly Alert[]): boolean {
  return activeAlerts.some((a) => a.panelId === panel.id && a.kind === 'lagging' && a.clearedAt === null);
}

/** "displays 4 of 7": the revision on screen against the current one. */
export function revisionText(panel: PanelSummary): string {
  const shown = panel.displayedRevision ?? '—';
  const current = panel.currentRevision ?? '—';
  return `${shown} / ${current}`;
}

/** The filters of the fleet page: every panel, or those in one condition. */
export const FLEET_FILTERS = ['all', 'online', 'offline', 'live', 'stale', 'maintenance', 'lagging', 'alerting'] as const;
export type FleetFilter = (typeof FLEET_FILTERS)[number];

export function matchesFilter(panel: PanelSummary, filter: FleetFilter, activeAlerts: readonly Alert[]): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'online':
      return panel.online;
    case 'offline':
      return !panel.online;
    case 'lagging':
      return isFlaggedLagging(panel, activeAlerts);
    case 'alerting':
      return activeAlerts.some((a) => a.panelId === panel.id);
    default:
      // An offline panel counts as offline, not by the state it last reported.
      return panel.online && panel.state === filter;
  }
}

export function matchesSearch(panel: PanelSummary, search: string): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) return true;
  return [panel.id, panel.name, panel.location?.description ?? '', panel.firmwareVersion ?? ''].some((text) =>
    text.toLowerCase().includes(needle),
  );
}

/** How many panels are in each condition (the fleet page's counters). */
export function fleetCounts(panels: readonly PanelSummary[], activeAlerts: readonly Alert[]): Record<FleetFilter, number> {
  const counts = Object.fromEntries(FLEET_FILTERS.map((f) => [f, 0])) as Record<FleetFilter, number>;
  for (const panel of panels) for (const f of FLEET_FILTERS) if (matchesFilter(panel, f, activeAlerts)) counts[f] += 1;
  return counts;
}
