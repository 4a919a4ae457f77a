import { describe, expect, it } from 'vitest';
import type { Alert, PanelSummary } from '@airpanel/contract';
import { fleetCounts, isFlaggedLagging, matchesFilter, matchesSearch, stateLabel, stateTone } from './panel-state.js';
import { safeNextPath } from './navigation.js';
import { formatAge, formatDuration } from './format.js';

function panel(over: Partial<PanelSummary>): PanelSummary {
  return {
    id: 'p1',
    name: 'North gate',
    location: { description: 'Ring road' },
    sensorSourceId: null,
    contentSetId: 'default-en',
    levelSchemeId: 'eaqi-3',
    createdAt: '2026-12-02T10:00:00.000Z',
    online: true,
    lastSeenAt: '2026-12-02T10:00:00.000Z',
    state: 'live',
    firmwareVersion: '1.2.3',
    currentRevision: 7,
    displayedRevision: 7,
    lagging: false,
    lastError: null,
    ownSensor: null,
    lastStart: null,
    ...over,
  };
}

const laggingAlert: Alert = {
  id: 'alert-1',
  panelId: 'p2',
  kind: 'lagging',
  since: '2026-12-02T10:00:00.000Z',
  raisedAt: '2026-12-02T10:10:00.000Z',
  clearedAt: null,
  detail: 'displays revision 4 of 7',
};

describe('panel states as the fleet page counts and filters them', () => {
  const fleet = [
    panel({ id: 'p1' }),
    panel({ id: 'p2', lagging: true, displayedRevision: 4 }),
    panel({ id: 'p3', online: false, state: 'live' }),
    panel({ id: 'p4', state: 'maintenance', lastError: 'CFG-1' }),
    panel({ id: 'p5', lagging: true, displayedRevision: 6 }),
  ];

  it('counts an offline panel as offline, not by the state it last reported', () => {
    const counts = fleetCounts(fleet, [laggingAlert]);
    expect(counts).toMatchObject({ all: 5, online: 4, offline: 1, live: 3, maintenance: 1, stale: 0, alerting: 1 });
    expect(stateLabel(fleet[2]!)).toBe('live (last reported)');
    expect(stateTone(fleet[2]!)).toBe('neutral');
    expect(stateTone(fleet[3]!)).toBe('bad');
  });

  it('flags lagging only once the lagging alert is up (a revision not yet shown is ordinary)', () => {
    expect(isFlaggedLagging(fleet[1]!, [laggingAlert])).toBe(true);
    expect(isFlaggedLagging(fleet[4]!, [laggingAlert])).toBe(false);
    expect(fleet.filter((p) => matchesFilter(p, 'lagging', [laggingAlert])).map((p) => p.id)).toEqual(['p2']);
    expect(isFlaggedLagging(fleet[1]!, [{ ...laggingAlert, clearedAt: '2026-12-02T10:20:00.000Z' }])).toBe(false);
  });

  it('searches name, id, location and firmware, case-insensitively', () => {
    expect(matchesSearch(fleet[0]!, 'RING')).toBe(true);
    expect(matchesSearch(fleet[0]!, '1.2.3')).toBe(true);
    expect(matchesSearch(fleet[0]!, 'p1')).toBe(true);
    expect(matchesSearch(fleet[0]!, 'bridge')).toBe(false);
    expect(matchesSearch(fleet[0]!, '  ')).toBe(true);
  });
});

describe('where the login sends back to', () => {
  it('takes a path of this app and nothing that leaves it', () => {
    expect(safeNextPath('/panels/p1?x=1')).toBe('/panels/p1?x=1');
    for (const bad of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'fleet', undefined, ['/audit'], 42]) {
      expect(safeNextPath(bad)).toBe('/fleet');
    }
  });
});

describe('ages and durations', () => {
  const now = Date.parse('2026-12-02T12:00:00.000Z');
  it('reads a few seconds either way as now (the clocks differ a little)', () => {
    expect(formatAge('2026-12-02T12:00:03.000Z', now)).toBe('just now');
    expect(formatAge('2026-12-02T11:59:57.000Z', now)).toBe('just now');
    expect(formatAge('2026-12-02T11:58:00.000Z', now)).toBe('2 min ago');
    expect(formatAge('2026-12-02T09:00:00.000Z', now)).toBe('3 h ago');
    expect(formatAge(null, now)).toBe('never');
    expect(formatDuration('2026-12-02T11:59:54.000Z', now)).toBe('6 s');
  });
});
