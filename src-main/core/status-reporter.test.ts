import { describe, expect, it } from 'vitest';
import { PanelStatus, type LastStart, type PanelEvent } from '@airpanel/contract';
import type { MonotonicClock, Scheduler, TimerHandle, WallClock } from './clock.js';
import type { Logger } from '@airpanel/node-support/logger';
import type { PanelState } from './state-machine.js';
import { MAX_UNSENT_EVENTS, type StatusFacts, type StatusLink, StatusReporter, UPDATE_STATUS_MIN_INTERVAL_MS } from './status-reporter.js';

/** Fake time (replaces the system clocks and the timer scheduler): timers fire only in advance(). */
class FakeClockAndScheduler implements Scheduler, MonotonicClock, WallClock {
  private nowMs = 1_000_000;
  private timers: { at: number; callback: () => void; handle: TimerHandle }[] = [];
  now(): number {
    return this.nowMs;
  }
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle = {};
    this.timers.push({ at: this.nowMs + Math.max(0, delayMs), callback, handle });
    return handle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.handle !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  /** Moves time on, firing each timer that falls due in order (and those they schedule). */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.nowMs = due.at;
      due.callback();
    }
    this.nowMs = end;
  }
}

/** Fake MQTT link (replaces MqttLink): records what is published; up or down on demand. */
class RecordingFakeLink implements StatusLink {
  isUp = true;
  /** What publish resolves to while up (a broker that failed the publish → false). */
  accepts = true;
  readonly sent: { topic: string; payload: unknown; retain: boolean }[] = [];
  publish(topic: string, payload: string, retain: boolean): Promise<boolean> {
    if (!this.isUp || !this.accepts) return Promise.resolve(false);
    this.sent.push({ topic, payload: JSON.parse(payload) as unknown, retain });
    return Promise.resolve(true);
  }
  statuses(): PanelStatus[] {
    return this.sent.filter((m) => m.topic === TOPICS.status).map((m) => m.payload as PanelStatus);
  }
  events(): PanelEvent[] {
    return this.sent.filter((m) => m.topic === TOPICS.events).map((m) => m.payload as PanelEvent);
  }
}

/** Records log calls (replaces the winston logger). */
function recordingFakeLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const ignore = () => undefined;
  return { errors, error: (m: string) => errors.push(m), warn: ignore, info: ignore, debug: ignore };
}

const TOPICS = { status: 'airpanel/panels/panel-0001/status', events: 'airpanel/panels/panel-0001/events' };

function setUp(lastStart?: LastStart) {
  const time = new FakeClockAndScheduler();
  const link = new RecordingFakeLink();
  const logger = recordingFakeLogger();
  const facts: StatusFacts = {
    panelId: 'panel-0001',
    state: { name: 'booting', reason: 'started' } as PanelState,
    lastError: null,
    update: null,
    sensor: null,
    ownDecision: null,
  };
  const shown = { revision: null as number | null };
  let routed = true;
  const reporter = new StatusReporter({
    firmwareVersion: '1.4.0',
    facts: () => facts,
    displayedRevision: () => shown.revision,
    route: () => (routed ? { link, topics: TOPICS } : null),
    wallClock: time,
    monotonicClock: time,
    scheduler: time,
    logger,
    ...(lastStart ? { lastStart } : {}),
  });
  return { time, link, logger, facts, shown, reporter, unroute: () => (routed = false) };
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

function transition(n: number): Extract<PanelEvent, { type: 'state-transition' }> {
  return {
    type: 'state-transition',
    panelId: 'panel-0001',
    from: 'live',
    to: 'stale',
    reason: `outage ${n}`,
    at: new Date(0).toISOString(),
  };
}

describe('StatusReporter', () => {
  it('builds the status from the facts, the uptime from its own start, and the wall clock for sentAt', () => {
    const { time, facts, shown, reporter } = setUp();
    time.advance(12_500);
    facts.state = { name: 'maintenance', reason: 'x'.repeat(600), code: 'CFG-1' };
    facts.lastError = 'CFG-1: panel.json missing';
    shown.revision = 7;
    const status = reporter.build(true);
    expect(status).toMatchObject({
      panelId: 'panel-0001',
      online: true,
      firmwareVersion: '1.4.0',
      state: 'maintenance',
      displayedRevision: 7,
      uptimeSeconds: 12.5,
      lastError: 'CFG-1: panel.json missing',
      maintenanceCode: 'CFG-1',
      sentAt: new Date(time.now()).toISOString(),
    });
    expect(status.stateReason).toHaveLength(500);
    expect(reporter.build(false).online).toBe(false);
  });

  it('carries why the app last started in every status, as a valid PanelStatus', () => {
    expect(setUp().reporter.build(true).lastStart).toBeNull();
    const lastStart: LastStart = { reason: 'watchdog', at: '2026-12-02T15:00:00.000Z', detail: 'watchdog: killed ABRT', bootedSlot: 'A' };
    const status = setUp(lastStart).reporter.build(true);
    expect(status.lastStart).toEqual(lastStart);
    expect(PanelStatus.parse(status).lastStart).toEqual(lastStart);
  });

  it('coalesces several publish requests in one tick into one retained status', async () => {
    const { link, reporter } = setUp();
    reporter.publish();
    reporter.publish();
    reporter.publish();
    await nextTick();
    expect(link.sent).toHaveLength(1);
    expect(link.sent[0]).toMatchObject({ topic: TOPICS.status, retain: true });
    reporter.publish();
    await nextTick();
    expect(link.statuses()).toHaveLength(2);
  });

  it('publishes again only when the displayed revision changed since the last status', async () => {
    const { link, shown, reporter } = setUp();
    shown.revision = 3;
    expect(reporter.publishIfRevisionChanged()).toBe(true);
    await nextTick();
    expect(reporter.publishIfRevisionChanged()).toBe(false);
    expect(link.statuses().map((s) => s.displayedRevision)).toEqual([3]);
    // While MQTT is down the revision still counts as reported: the reconnect's status carries it.
    link.isUp = false;
    shown.revision = 4;
    expect(reporter.publishIfRevisionChanged()).toBe(true);
    await nextTick();
    expect(reporter.publishIfRevisionChanged()).toBe(false);
    expect(link.statuses()).toHaveLength(1);
  });

  it('spaces throttled statuses (updater progress) at least UPDATE_STATUS_MIN_INTERVAL_MS apart', async () => {
    const { time, link, reporter } = setUp();
    reporter.publishThrottled();
    await nextTick();
    expect(link.statuses()).toHaveLength(1);
    time.advance(100);
    for (let i = 0; i < 9; i++) reporter.publishThrottled();
    await nextTick();
    expect(link.statuses()).toHaveLength(1);
    time.advance(UPDATE_STATUS_MIN_INTERVAL_MS - 101);
    await nextTick();
    expect(link.statuses()).toHaveLength(1);
    time.advance(1);
    await nextTick();
    expect(link.statuses()).toHaveLength(2);
    time.advance(UPDATE_STATUS_MIN_INTERVAL_MS);
    reporter.publishThrottled();
    await nextTick();
    expect(link.statuses()).toHaveLength(3);
  });

  it('repeats the status every heartbeat interval until stopped', async () => {
    const { time, link, reporter } = setUp();
    reporter.startHeartbeat(30_000);
    time.advance(29_999);
    await nextTick();
    expect(link.statuses()).toHaveLength(0);
    time.advance(1);
    await nextTick();
    time.advance(30_000);
    await nextTick();
    expect(link.statuses()).toHaveLength(2);
    reporter.stop();
    expect(time.pending).toBe(0);
    time.advance(120_000);
    await nextTick();
    expect(link.statuses()).toHaveLength(2);
  });

  it('keeps events while MQTT is down (the newest MAX_UNSENT_EVENTS) and sends them, then the status, when it is up', async () => {
    const { link, reporter } = setUp();
    link.isUp = false;
    for (let n = 1; n <= MAX_UNSENT_EVENTS + 2; n++) reporter.report(transition(n));
    await nextTick();
    expect(link.sent).toHaveLength(0);
    link.isUp = true;
    reporter.linkUp();
    await nextTick();
    const reasons = link.events().map((e) => (e.type === 'state-transition' ? e.reason : e.type));
    expect(reasons).toEqual(Array.from({ length: MAX_UNSENT_EVENTS }, (_, i) => `outage ${i + 3}`));
    expect(link.sent.at(-1)?.topic).toBe(TOPICS.status);
  });

  it('keeps an event whose publish failed although the link was up', async () => {
    const { link, reporter } = setUp();
    link.accepts = false;
    reporter.report(transition(1));
    await nextTick();
    link.accepts = true;
    reporter.linkUp();
    await nextTick();
    expect(link.events()).toHaveLength(1);
  });

  it('refuses to publish an invalid event or status, and logs why', async () => {
    const { link, logger, facts, reporter } = setUp();
    expect(await reporter.publishEvent({ ...transition(1), panelId: '' })).toBe(false);
    facts.panelId = '';
    reporter.publish();
    await nextTick();
    expect(link.sent).toHaveLength(0);
    expect(logger.errors).toEqual(['event not published: invalid', 'status not published: invalid']);
  });

  it('gives the offline status as the farewell message, and none before the panel is routed', () => {
    const { reporter, unroute } = setUp();
    const farewell = reporter.farewell();
    expect(farewell).toMatchObject({ topic: TOPICS.status, retain: true });
    expect(JSON.parse(farewell!.payload)).toMatchObject({ panelId: 'panel-0001', online: false });
    unroute();
    expect(reporter.farewell()).toBeUndefined();
  });
});
