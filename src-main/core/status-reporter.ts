import { PanelEvent, PanelStatus, type LastStart } from '@airpanel/contract';
import type { MonotonicClock, Scheduler, TimerHandle, WallClock } from './clock.js';
import type { Logger } from '@airpanel/node-support/logger';
import type { PanelState } from './state-machine.js';

/** The MQTT side the reporter publishes through (an `MqttLink` fits). */
export interface StatusLink {
  readonly isUp: boolean;
  /** Resolves false when the message was dropped (link down, publish failed). */
  publish(topic: string, payload: string, retain: boolean): Promise<boolean>;
}

/** Where statuses and events go once the panel knows its id and topics. */
export interface StatusRoute {
  /** Null when panel.json has no MQTT URL (polling only): nothing is published. */
  link: StatusLink | null;
  topics: { status: string; events: string };
}

/** What the core knows at the moment a status is built; read afresh for every status. */
export interface StatusFacts {
  /** Empty without a usable panel.json (nothing is published then). */
  panelId: string;
  state: PanelState;
  lastError: string | null;
  update: PanelStatus['update'];
  sensor: PanelStatus['sensor'];
  ownDecision: PanelStatus['ownDecision'];
}

export interface StatusReporterOptions {
  firmwareVersion: string;
  /** Why the app last started (restart-reason.ts), the same in every status of this run. */
  lastStart?: LastStart | null;
  facts: () => StatusFacts;
  /** What the renderer last painted, else the accepted document's revision. */
  displayedRevision: () => number | null;
  /** Null until the core is connected (and always without a usable panel.json). */
  route: () => StatusRoute | null;
  wallClock: WallClock;
  /** Uptime is counted from the reporter's construction on this clock. */
  monotonicClock: MonotonicClock;
  scheduler: Scheduler;
  logger: Logger;
}

/** Enough for an outage's worth of flapping; each is a few hundred bytes (fleet memory). */
export const MAX_UNSENT_EVENTS = 8;
/** A download reports progress many times a second: its statuses are spaced out this much. */
export const UPDATE_STATUS_MIN_INTERVAL_MS = 1_000;

/**
 * Builds the retained `PanelStatus` and publishes it: several requests in one tick coalesce
 * into one message, updater progress is throttled, a heartbeat repeats it. Events that must
 * not be lost in an outage (state transitions, disagreements) are kept while MQTT is down and
 * sent, in order, when it is up again.
 */
export class StatusReporter {
  private readonly o: StatusReporterOptions;
  private readonly startedMono: number;
  private queued = false;
  private stopped = false;
  private heartbeatTimer: TimerHandle | null = null;
  private throttleTimer: TimerHandle | null = null;
  private lastThrottledMono = Number.NEGATIVE_INFINITY;
  /** Oldest first; the oldest is dropped beyond MAX_UNSENT_EVENTS. */
  private unsent: PanelEvent[] = [];
  /** displayedRevision of the last status built for publishing; a change publishes again. */
  private reportedRevision: number | null = null;

  constructor(options: StatusReporterOptions) {
    this.o = options;
    this.startedMono = options.monotonicClock.now();
  }

  /** The status as it would be published now. */
  build(online: boolean): PanelStatus {
    const f = this.o.facts();
    const state = f.state;
    return {
      panelId: f.panelId,
      online,
      firmwareVersion: this.o.firmwareVersion.slice(0, 64),
      state: state.name,
      stateReason: state.reason.slice(0, 500),
      displayedRevision: this.o.displayedRevision(),
      uptimeSeconds: Math.max(0, (this.o.monotonicClock.now() - this.startedMono) / 1000),
      lastError: f.lastError,
      maintenanceCode: state.name === 'maintenance' ? state.code : null,
      update: f.update,
      sensor: f.sensor,
      ownDecision: f.ownDecision,
      lastStart: this.o.lastStart ?? null,
      sentAt: new Date(this.o.wallClock.now()).toISOString(),
    };
  }

  /** Publishes the retained status once, however many times this is called in the same tick. */
  publish(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.publishNow();
    });
  }

  /** True (and a status on its way) when the displayed revision differs from the last reported one. */
  publishIfRevisionChanged(): boolean {
    if (this.o.displayedRevision() === this.reportedRevision) return false;
    this.publish();
    return true;
  }

  /** At once, or at most once per UPDATE_STATUS_MIN_INTERVAL_MS (updater reports). */
  publishThrottled(): void {
    if (this.throttleTimer || this.stopped) return;
    const wait = this.lastThrottledMono + UPDATE_STATUS_MIN_INTERVAL_MS - this.o.monotonicClock.now();
    const publish = () => {
      this.throttleTimer = null;
      this.lastThrottledMono = this.o.monotonicClock.now();
      this.publish();
    };
    if (wait <= 0) publish();
    else this.throttleTimer = this.o.scheduler.setTimeout(publish, wait);
  }

  /** Publishes the status every `intervalMs` until stop(). */
  startHeartbeat(intervalMs: number): void {
    if (this.stopped) return;
    this.heartbeatTimer = this.o.scheduler.setTimeout(() => {
      this.heartbeatTimer = null;
      this.publish();
      this.startHeartbeat(intervalMs);
    }, intervalMs);
  }

  /** MQTT (re)connected: the events kept during the outage first, then the status. */
  linkUp(): void {
    const events = this.unsent;
    this.unsent = [];
    for (const event of events) this.report(event);
    this.publish();
  }

  /** An event that must reach the backend: sent now, or kept until MQTT is up again. */
  report(event: PanelEvent): void {
    if (this.o.route()?.link?.isUp) {
      void this.publishEvent(event).then((sent) => {
        if (!sent) this.keep(event);
      });
    } else {
      this.keep(event);
    }
  }

  /** Validates and publishes one event now; false when it was not sent. */
  publishEvent(event: PanelEvent): Promise<boolean> {
    const route = this.o.route();
    if (!route?.link) return Promise.resolve(false);
    const checked = PanelEvent.safeParse(event);
    if (!checked.success) {
      this.o.logger.error('event not published: invalid', { type: event.type, issue: checked.error.issues[0]?.message });
      return Promise.resolve(false);
    }
    return route.link.publish(route.topics.events, JSON.stringify(checked.data), false);
  }

  /** The offline status for a clean disconnect (published instead of the will), if valid. */
  farewell(): { topic: string; payload: string; retain: boolean } | undefined {
    const route = this.o.route();
    if (!route) return undefined;
    const offline = PanelStatus.safeParse(this.build(false));
    return offline.success ? { topic: route.topics.status, payload: JSON.stringify(offline.data), retain: true } : undefined;
  }

  /** Clears the heartbeat and the throttle; a status already queued in this tick still goes out. */
  stop(): void {
    this.stopped = true;
    for (const t of [this.heartbeatTimer, this.throttleTimer]) if (t) this.o.scheduler.clearTimeout(t);
    this.heartbeatTimer = null;
    this.throttleTimer = null;
  }

  private keep(event: PanelEvent): void {
    this.unsent.push(event);
    if (this.unsent.length > MAX_UNSENT_EVENTS) this.unsent.shift();
  }

  private publishNow(): void {
    const route = this.o.route();
    this.reportedRevision = this.o.displayedRevision();
    if (!route?.link?.isUp) return;
    const status = PanelStatus.safeParse(this.build(true));
    if (!status.success) {
      this.o.logger.error('status not published: invalid', { issue: status.error.issues[0]?.message });
      return;
    }
    void route.link.publish(route.topics.status, JSON.stringify(status.data), true);
  }
}
