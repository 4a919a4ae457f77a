import { describe, expect, it } from 'vitest';
import type { PanelSummary } from '@airpanel/contract';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { LiveEventBus } from './event-bus.js';
import { PanelSummaryFeed, type Schedule } from './panel-summary-feed.js';

function summary(id: string, displayedRevision: number): PanelSummary {
  return {
    id,
    name: id,
    location: null,
    sensorSourceId: null,
    contentSetId: 'default-en',
    levelSchemeId: 'eaqi-3',
    createdAt: '2026-12-01T12:00:00.000Z',
    online: true,
    lastSeenAt: '2026-12-01T12:00:00.000Z',
    state: 'live',
    firmwareVersion: '1.0.0',
    currentRevision: 2,
    displayedRevision,
    lagging: displayedRevision < 2,
    lastError: null,
    ownSensor: null,
    lastStart: null,
  };
}

/** Timers driven by the test (a stand-in for real setTimeout/setImmediate): `advance` runs what is due. */
function manualTimersStandIn() {
  let now = 0;
  let seq = 0;
  const due = new Map<number, { at: number; work: () => void }>();
  const schedule: Schedule = (work, ms) => {
    const id = ++seq;
    due.set(id, { at: now + Math.max(0, ms), work });
    return () => void due.delete(id);
  };
  return {
    clock: { now: () => now },
    schedule,
    waiting: () => due.size,
    /** Moves time on by `ms`, running each timer set before this call when its time comes. */
    advance(ms: number): void {
      const end = now + ms;
      const before = new Set(due.keys());
      for (;;) {
        const next = [...due.entries()]
          .filter(([id, t]) => before.has(id) && t.at <= end)
          .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
        if (!next) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].work();
      }
      now = end;
    },
    /** One event-loop turn: what was due, not what it schedules. */
    turn(): void {
      this.advance(0);
    },
  };
}

function setup(o: { summaryOf?: (id: string) => PanelSummary | null; logger?: Logger; sliceSize?: number } = {}) {
  const timers = manualTimersStandIn();
  const truth = new Map<string, PanelSummary>();
  const reads: string[] = [];
  const bus = new LiveEventBus({ logger: silentLogger });
  const published: PanelSummary[] = [];
  bus.subscribe(({ event }) => void (event.type === 'panel-summary' && published.push(event.panel)));
  const feed = new PanelSummaryFeed({
    bus,
    clock: timers.clock,
    logger: o.logger ?? silentLogger,
    schedule: timers.schedule,
    quietMs: 250,
    maxDelayMs: 5_000,
    sliceSize: o.sliceSize ?? 200,
    summaryOf:
      o.summaryOf ??
      ((id) => {
        reads.push(id);
        return truth.get(id) ?? null;
      }),
  });
  return { timers, truth, reads, published, feed };
}

describe('PanelSummaryFeed', () => {
  it('reads reported panels once the reports quieten down, each panel once however often it reported', () => {
    const { timers, truth, reads, published, feed } = setup();
    truth.set('p1', summary('p1', 1));
    truth.set('p2', summary('p2', 1));
    feed.checkSoon(['p1']);
    timers.advance(100);
    feed.checkSoon(['p1', 'p2']);
    timers.advance(200);
    // 200 ms after the last report: still waiting for quiet.
    expect(reads).toEqual([]);
    expect(feed.pendingCount).toBe(2);
    timers.advance(50);
    expect(reads).toEqual(['p1', 'p2']);
    expect(published.map((s) => s.id)).toEqual(['p1', 'p2']);
    expect(feed.pendingCount).toBe(0);
    // The same summary again is not published again.
    feed.checkSoon(['p1']);
    timers.advance(250);
    expect(reads).toEqual(['p1', 'p2', 'p1']);
    expect(published).toHaveLength(2);
  });

  it('reads a burst that never quietens at most maxDelayMs after its first report', () => {
    const { timers, truth, reads, feed } = setup();
    truth.set('p1', summary('p1', 1));
    for (let t = 0; t < 4_900; t += 100) {
      feed.checkSoon(['p1']);
      timers.advance(100);
    }
    expect(reads).toEqual([]);
    feed.checkSoon(['p1']);
    timers.advance(100);
    expect(reads).toEqual(['p1']);
  });

  it('catches up a slice per event-loop turn, taking in what is reported meanwhile', () => {
    const { timers, truth, reads, feed } = setup({ sliceSize: 200 });
    const ids = Array.from({ length: 450 }, (_, i) => `p${i}`);
    for (const id of ids) truth.set(id, summary(id, 1));
    feed.checkSoon(ids);
    timers.advance(250);
    expect(reads).toHaveLength(200);
    feed.checkSoon(['late']);
    timers.turn();
    expect(reads).toHaveLength(400);
    timers.turn();
    expect(reads).toHaveLength(451);
    expect(reads.at(-1)).toBe('late');
    expect([feed.pendingCount, timers.waiting()]).toEqual([0, 0]);
  });

  it('check reads at once; flushPending reads what waits; replaceAll settles what waits; close drops it', () => {
    const { timers, truth, reads, published, feed } = setup();
    truth.set('p1', summary('p1', 1));
    truth.set('p2', summary('p2', 1));
    feed.checkSoon(['p1', 'p2']);
    feed.check(['p1']);
    expect(reads).toEqual(['p1']);
    feed.flushPending();
    expect(reads).toEqual(['p1', 'p2']);
    expect(timers.waiting()).toBe(0);

    truth.set('p1', summary('p1', 2));
    feed.checkSoon(['p1']);
    feed.replaceAll([truth.get('p1')!, truth.get('p2')!]);
    expect(feed.pendingCount).toBe(0);
    expect(published.at(-1)).toMatchObject({ id: 'p1', displayedRevision: 2 });
    timers.advance(1_000);
    expect(reads).toEqual(['p1', 'p2']);

    feed.checkSoon(['p2']);
    feed.close();
    timers.advance(1_000);
    feed.checkSoon(['p2']);
    timers.advance(1_000);
    expect(reads).toEqual(['p1', 'p2']);
  });

  it('a panel whose summary cannot be read is logged, and the others are still read', () => {
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message, meta) => void errors.push(`${message} ${String(meta?.panelId)}`) };
    const { timers, published, feed } = setup({
      logger,
      summaryOf: (id) => {
        if (id === 'broken') throw new Error('database is closed');
        return summary(id, 1);
      },
    });
    feed.checkSoon(['a', 'broken', 'b']);
    timers.advance(250);
    expect(published.map((s) => s.id)).toEqual(['a', 'b']);
    expect(errors).toEqual(['reading a panel summary failed broken']);
  });

  it('forgets a panel that is gone', () => {
    const { timers, truth, feed } = setup();
    truth.set('p1', summary('p1', 1));
    feed.check(['p1']);
    expect(feed.summaries()).toHaveLength(1);
    truth.delete('p1');
    feed.checkSoon(['p1']);
    timers.advance(250);
    expect(feed.summaries()).toEqual([]);
  });
});
