import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_THRESHOLDS, type AlertThresholds, type PanelSummary } from '@airpanel/contract';
import { openDatabase } from '../db/database.js';
import { Store } from '../db/store.js';
import { silentLogger } from '../logger.js';
import { makeTempDir } from '../test-support.js';
import { AlertEvaluator, type AlertChange } from './evaluator.js';
import { AlertStore } from './store.js';

const T0 = Date.parse('2026-12-02T12:00:00.000Z');
const thresholds: AlertThresholds = { ...DEFAULT_ALERT_THRESHOLDS, offline: 60, stale: 120, maintenance: 300, lagging: 90 };

function panel(id: string, changes: Partial<PanelSummary> = {}): PanelSummary {
  return {
    id,
    name: `Panel ${id}`,
    location: null,
    sensorSourceId: null,
    contentSetId: 'default-en',
    levelSchemeId: 'eaqi-3',
    createdAt: '2026-12-01T12:00:00.000Z',
    online: true,
    lastSeenAt: new Date(T0).toISOString(),
    state: 'live',
    firmwareVersion: '1.0.0',
    currentRevision: 7,
    displayedRevision: 7,
    lagging: false,
    lastError: null,
    ownSensor: null,
    lastStart: null,
    ...changes,
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** An evaluator over a real SQLite database in a temp dir, on a clock the test moves. */
function setUp(dir = makeTempDir()) {
  const db = openDatabase(dir.dir);
  cleanups.push(() => dir.remove());
  cleanups.push(() => db.close());
  let now = T0;
  const changes: AlertChange[] = [];
  const make = () =>
    new AlertEvaluator({
      clock: { now: () => now },
      store: new AlertStore(new Store(db)),
      logger: silentLogger,
      thresholds: () => thresholds,
      onChange: (c) => changes.push(c),
    });
  const evaluator = make();
  return { evaluator, changes, advance: (seconds: number) => void (now += seconds * 1000), make, store: new AlertStore(new Store(db)) };
}

describe('AlertEvaluator (real SQLite, injected clock)', () => {
  it('raises stale, maintenance and lagging only after their own thresholds, once each, and clears each when it ends', () => {
    const { evaluator, changes, advance } = setUp();
    const fleet = [
      panel('p-stale', { state: 'stale' }),
      panel('p-maint', { state: 'maintenance' }),
      panel('p-lag', { lagging: true, displayedRevision: 5 }),
      panel('p-fine'),
    ];
    evaluator.evaluate(fleet);
    advance(100);
    evaluator.evaluate(fleet);
    expect(changes.map((c) => [c.event, c.alert.panelId, c.alert.kind])).toEqual([['alert.raised', 'p-lag', 'lagging']]);
    expect(changes[0]!.alert.detail).toBe('displays revision 5 of 7');
    advance(100);
    evaluator.evaluate(fleet);
    expect(changes.map((c) => c.alert.kind)).toEqual(['lagging', 'stale']);
    advance(200);
    evaluator.evaluate(fleet);
    evaluator.evaluate(fleet);
    expect(changes.map((c) => c.alert.kind)).toEqual(['lagging', 'stale', 'maintenance']);
    for (const change of changes) expect(change.alert.since).toBe(new Date(T0).toISOString());

    advance(10);
    evaluator.evaluate([panel('p-stale'), panel('p-maint', { state: 'maintenance' }), panel('p-lag'), panel('p-fine')]);
    expect(changes.slice(3).map((c) => [c.event, c.alert.kind])).toEqual([
      ['alert.cleared', 'stale'],
      ['alert.cleared', 'lagging'],
    ]);
    expect(changes[3]!.alert.clearedAt).toBe(new Date(T0 + 410_000).toISOString());
    expect(evaluator.activeCount()).toBe(1);
  });

  it('counts offline from the last sighting but never from before it started, ignores never-seen panels, and reported states of an offline panel', () => {
    const { evaluator, changes, advance } = setUp();
    const longGone = panel('p-gone', { online: false, lastSeenAt: '2026-11-30T00:00:00.000Z', state: 'stale', lagging: true });
    const never = panel('p-new', { online: false, lastSeenAt: null, state: null });
    evaluator.evaluate([longGone, never]);
    advance(59);
    evaluator.evaluate([longGone, never]);
    expect(changes).toEqual([]);
    advance(1);
    evaluator.evaluate([longGone, never]);
    expect(changes.map((c) => [c.alert.panelId, c.alert.kind, c.alert.since])).toEqual([['p-gone', 'offline', new Date(T0).toISOString()]]);
  });

  it('clears the alerts of a deleted panel, and a new evaluator (a restart) keeps the active ones without raising them again', () => {
    const dir = makeTempDir();
    const { evaluator, changes, advance, make, store } = setUp(dir);
    const down = panel('p-down', { online: false, lastSeenAt: new Date(T0 - 3_600_000).toISOString() });
    const other = panel('p-other', { online: false, lastSeenAt: new Date(T0 - 3_600_000).toISOString() });
    advance(61);
    evaluator.evaluate([down, other]);
    expect(changes).toHaveLength(2);

    const restarted = make();
    const after: AlertChange[] = [];
    const changesBefore = changes.length;
    restarted.evaluate([down]);
    after.push(...changes.slice(changesBefore));
    expect(after.map((c) => [c.event, c.alert.panelId, c.panel])).toEqual([['alert.cleared', 'p-other', null]]);
    expect(after[0]!.alert.detail).toContain('the panel was deleted');
    expect(store.active().map((a) => a.panelId)).toEqual(['p-down']);
    expect(store.recentlyCleared(10).map((a) => a.panelId)).toEqual(['p-other']);
  });
});
