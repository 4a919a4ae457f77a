import { jitteredIntervalMs } from './backoff.js';
import type { RandomSource, Scheduler, TimerHandle } from './clock.js';
import type { DisplayPoller, PollOutcome } from './display-poller.js';
import type { Logger } from '@airpanel/node-support/logger';
import type { MqttLink } from './mqtt-link.js';

export interface DisplaySyncOptions {
  /** Null when panel.json has no mqttUrl: polling only. */
  link: MqttLink | null;
  poller: DisplayPoller;
  pollIntervalMs: number;
  /** ± fraction of jitter on every poll period. */
  pollJitter: number;
  /** The first poll after boot comes within this (jittered), unless MQTT is up first. */
  firstPollMaxDelayMs: number;
  random: RandomSource;
  scheduler: Scheduler;
  logger: Logger;
  onPollOutcome: (outcome: PollOutcome) => void;
}

/**
 * Push first, poll as the fallback, never both at full speed: the poll timer runs only while
 * MQTT is not up. When MQTT comes up the timer stops and one catch-up poll fetches whatever
 * was missed; when MQTT goes down polling resumes after a jittered fraction of a period (so a
 * fleet that lost its broker at once does not hit the API at once).
 */
export class DisplaySync {
  private pollTimer: TimerHandle | null = null;
  private running = false;
  private readonly options: DisplaySyncOptions;

  constructor(options: DisplaySyncOptions) {
    this.options = options;
  }

  start(): void {
    this.running = true;
    const o = this.options;
    this.schedulePoll(o.random() * Math.min(o.pollIntervalMs, o.firstPollMaxDelayMs));
    o.link?.start();
  }

  /** Called by the link owner when MQTT is subscribed. */
  mqttUp(): void {
    this.cancelPoll();
    this.options.logger.info('polling paused (mqtt up); catch-up poll');
    void this.runPoll();
  }

  /** Called by the link owner when MQTT is lost. */
  mqttDown(): void {
    if (!this.running) return;
    this.options.logger.info('polling resumes (mqtt down)');
    this.schedulePoll(this.options.random() * this.options.pollIntervalMs);
  }

  /** A poll now (e.g. a host asking), whatever the MQTT state. */
  pollNow(): Promise<void> {
    return this.runPoll();
  }

  stop(): void {
    this.running = false;
    this.cancelPoll();
    this.options.poller.cancel();
  }

  private get mqttIsUp(): boolean {
    return this.options.link?.isUp ?? false;
  }

  private schedulePoll(delayMs: number): void {
    this.cancelPoll();
    if (!this.running || this.mqttIsUp) return;
    this.pollTimer = this.options.scheduler.setTimeout(() => {
      this.pollTimer = null;
      void this.runPoll().finally(() => {
        this.schedulePoll(jitteredIntervalMs(this.options.pollIntervalMs, this.options.pollJitter, this.options.random));
      });
    }, delayMs);
  }

  private cancelPoll(): void {
    if (this.pollTimer) this.options.scheduler.clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** Never rejects: it runs from timers, where a rejection would be unhandled. */
  private async runPoll(): Promise<void> {
    if (!this.running) return;
    try {
      const outcome = await this.options.poller.poll();
      if (this.running) this.options.onPollOutcome(outcome);
    } catch (err) {
      this.options.logger.error('poll handling failed', { error: String(err) });
    }
  }
}
