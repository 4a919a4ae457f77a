import { describe, expect, it } from 'vitest';
import type { PanelSummary } from '@airpanel/contract';
import { LiveEventBus } from '../events/event-bus.js';
import { PanelSummaryFeed } from '../events/panel-summary-feed.js';
import { silentLogger } from '../logger.js';
import { FleetWatch } from './fleet-watch.js';

const T0 = Date.parse('2026-12-02T12:00:00.000Z');

function summary(id: string, online: boolean, lastSeenMs: number): PanelSummary {
  return {
    id,
    name: id,
    location: null,
    sensorSourceId: null,
    contentSetId: 'default-en',
    levelSchemeId: 'eaqi-3',
    createdAt: '2026-12-01T12:00:00.000Z',
    online,
    lastSeenAt: new Date(lastSeenMs).toISOString(),
    state: 'live',
    firmwareVersion: '1.0.0',
    currentRevision: 1,
    displayedRevision: 1,
    lagging: false,
    lastError: null,
    ownSensor: null,
    lastStart: null,
  };
}

describe('FleetWatch', () => {
  it('reads the whole fleet only every fleetRefreshMs, and a panel again once its online window has passed', () => {
    let now = T0;
    // The "database": what a full read or a single read finds now.
    const truth = new Map<string, PanelSummary>([
      ['p-http', summary('p-http', true, T0)],
      ['p-mqtt', summary('p-mqtt', true, T0)],
    ]);
    let fullReads = 0;
    const singleReads: string[] = [];
    const bus = new LiveEventBus({ logger: silentLogger });
    const published: PanelSummary[] = [];
    bus.subscribe(({ event }) => void (event.type === 'panel-summary' && published.push(event.panel)));
    const feed = new PanelSummaryFeed({
      bus,
      summaryOf: (id) => {
        singleReads.push(id);
        return truth.get(id) ?? null;
      },
    });
    const evaluated: number[] = [];
    const watch = new FleetWatch({
      clock: { now: () => now },
      feed,
      listPanels: () => {
        fullReads++;
        return [...truth.values()];
      },
      evaluate: (fleet) => void evaluated.push(fleet.length),
      fleetRefreshMs: 60_000,
      onlineWindowMs: 10_000,
    });

    watch.tick();
    expect([fullReads, published.length]).toEqual([1, 2]);
    now += 5_000;
    watch.tick();
    expect([fullReads, singleReads]).toEqual([1, []]);

    // 10 s after the last sighting: both are read again; the HTTP one is offline now.
    truth.set('p-http', summary('p-http', false, T0));
    now = T0 + 10_000;
    watch.tick();
    expect(singleReads.sort()).toEqual(['p-http', 'p-mqtt']);
    expect(published.at(-1)).toMatchObject({ id: 'p-http', online: false });
    // The MQTT one did not change: not read again before another window passed.
    now += 5_000;
    watch.tick();
    expect(singleReads).toHaveLength(2);
    now += 5_000;
    watch.tick();
    expect(singleReads).toEqual(['p-http', 'p-mqtt', 'p-mqtt']);

    now = T0 + 60_000;
    watch.tick();
    expect(fullReads).toBe(2);
    expect(evaluated.every((count) => count === 2)).toBe(true);
  });
});
