import type { IClientOptions, MqttClient } from 'mqtt';
import type { PanelTopics } from '@airpanel/contract';
import { type BackoffPolicy, jitteredBackoffMs } from './backoff.js';
import type { MonotonicClock, RandomSource, Scheduler, TimerHandle } from './clock.js';
import type { Logger } from '@airpanel/node-support/logger';
import { certificateProblemOf } from './transport/certificate-problems.js';
import type { TlsClientOptions } from './transport/trust-store.js';

/** Creates an MQTT.js client; production passes `mqtt.connect`. */
export type MqttClientFactory = (url: string, options: IClientOptions) => MqttClient;

export interface MqttLinkOptions {
  url: string;
  panelId: string;
  apiKey: string;
  topics: PanelTopics;
  /** For mqtts:// and wss://: the panel's trust store (its CA, its client certificate). */
  tls?: TlsClientOptions | undefined;
  connect: MqttClientFactory;
  backoff: BackoffPolicy;
  /** A connection that lasted this long resets the backoff; shorter ones count as flapping. */
  stableConnectionMs: number;
  connectTimeoutMs: number;
  keepaliveSeconds: number;
  random: RandomSource;
  scheduler: Scheduler;
  monotonicClock: MonotonicClock;
  logger: Logger;
  /** Subscribed (display and commands) and ready. */
  onUp: () => void;
  /** Lost after having been up. */
  onDown: (reason: string) => void;
  onDisplay: (payload: Buffer) => void;
  onCommand: (payload: Buffer) => void;
  /** Every error of a connection (the panel's transport names certificate problems in it). */
  onConnectionError?: (error: Error) => void;
}

/**
 * The panel's MQTT connection. MQTT.js's own reconnect uses a fixed period, which after a
 * broker restart makes a whole fleet reconnect in lockstep; so its `reconnectPeriod` is 0 and
 * this class reconnects itself, with jittered exponential backoff, using a fresh client per
 * attempt (the broker keeps the session: `clean: false`, fixed client id = panel id).
 *
 * ```text
 *   idle ──start──▶ connecting ──subscribed──▶ up
 *                     ▲   │ failed                │ lost
 *                     │   ▼                       ▼
 *                     └── waiting (backoff) ◀─────┘        any ──stop──▶ stopped
 * ```
 */
type LinkPhase =
  | { name: 'idle' }
  /** `failures`: consecutive failed or flapping connections before this one (drives the backoff). */
  | { name: 'connecting'; client: MqttClient; failures: number }
  | { name: 'up'; client: MqttClient; sinceMono: number; failures: number }
  | { name: 'waiting'; timer: TimerHandle; failures: number }
  | { name: 'stopped' };

export class MqttLink {
  private phase: LinkPhase = { name: 'idle' };
  private readonly options: MqttLinkOptions;

  constructor(options: MqttLinkOptions) {
    this.options = options;
  }

  get isUp(): boolean {
    return this.phase.name === 'up';
  }

  start(): void {
    if (this.phase.name !== 'idle') return;
    this.attempt(0);
  }

  /**
   * Publishes QoS 1 when up; returns false (dropped) otherwise. Status is republished on
   * every reconnect and acks are best effort, so nothing is queued while down.
   */
  async publish(topic: string, payload: string, retain: boolean): Promise<boolean> {
    if (this.phase.name !== 'up') return false;
    try {
      await this.phase.client.publishAsync(topic, payload, { qos: 1, retain });
      return true;
    } catch (err) {
      this.options.logger.warn('mqtt publish failed', { topic, error: String(err) });
      return false;
    }
  }

  /**
   * Stops for good. `farewell` (the offline status) is published first when up, and the
   * client ends gracefully so the broker does not fire the last will for a clean stop.
   */
  async stop(farewell?: { topic: string; payload: string; retain: boolean }, timeoutMs = 2_000): Promise<void> {
    const phase = this.phase;
    this.phase = { name: 'stopped' };
    if (phase.name === 'waiting') this.options.scheduler.clearTimeout(phase.timer);
    if (phase.name === 'connecting') phase.client.end(true);
    if (phase.name !== 'up') return;
    const client = phase.client;
    const graceful = (async () => {
      if (farewell) await client.publishAsync(farewell.topic, farewell.payload, { qos: 1, retain: farewell.retain });
      await client.endAsync(false);
    })();
    let timer: TimerHandle | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = this.options.scheduler.setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([
        graceful.catch((err) => this.options.logger.warn('mqtt graceful stop failed', { error: String(err) })),
        deadline,
      ]);
    } finally {
      if (timer) this.options.scheduler.clearTimeout(timer);
      client.end(true);
    }
  }

  private attempt(failures: number): void {
    const o = this.options;
    const client = o.connect(o.url, {
      clientId: o.panelId,
      username: o.panelId,
      password: o.apiKey,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs,
      keepalive: o.keepaliveSeconds,
      resubscribe: false,
      ...(o.tls ?? {}),
      will: { topic: o.topics.status, payload: Buffer.from(JSON.stringify({ panelId: o.panelId, online: false })), qos: 1, retain: true },
    });
    this.phase = { name: 'connecting', client, failures };
    client.on('connect', () => void this.subscribe(client, failures));
    client.on('message', (topic, payload) => {
      // A throw here would escape into MQTT.js's event loop and take the panel down.
      try {
        if (topic === o.topics.display) o.onDisplay(payload);
        else if (topic === o.topics.commands) o.onCommand(payload);
      } catch (err) {
        o.logger.error('mqtt message handling failed', { topic, error: String(err) });
      }
    });
    client.on('error', (err) => {
      const certificate = certificateProblemOf(err)?.code;
      o.logger.warn('mqtt error', { error: err.message, failures, ...(certificate ? { certificate } : {}) });
      try {
        o.onConnectionError?.(err);
      } catch (listenerError) {
        o.logger.error('mqtt error listener threw', { error: String(listenerError) });
      }
      this.lost(client, err.message);
    });
    client.on('close', () => this.lost(client, 'connection closed'));
    client.on('offline', () => this.lost(client, 'offline'));
  }

  private async subscribe(client: MqttClient, failures: number): Promise<void> {
    const o = this.options;
    try {
      const grants = await client.subscribeAsync({ [o.topics.display]: { qos: 1 }, [o.topics.commands]: { qos: 1 } });
      const refused = grants.filter((g) => g.qos === 128);
      if (refused.length > 0) throw new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
    } catch (err) {
      // Connected but deaf is worse than down: polling would stay off. Treat as a failure.
      o.logger.error('mqtt subscribe failed', { error: String(err), failures });
      this.lost(client, String(err));
      return;
    }
    if (this.phase.name !== 'connecting' || this.phase.client !== client) return;
    this.phase = { name: 'up', client, sinceMono: o.monotonicClock.now(), failures };
    o.logger.info('mqtt up', { url: o.url, failures });
    o.onUp();
  }

  /** Idempotent per client: the first of error/close/offline schedules the next attempt. */
  private lost(client: MqttClient, reason: string): void {
    const phase = this.phase;
    if ((phase.name !== 'connecting' && phase.name !== 'up') || phase.client !== client) return;
    client.end(true);
    const o = this.options;
    const stable = phase.name === 'up' && o.monotonicClock.now() - phase.sinceMono >= o.stableConnectionMs;
    const failures = stable ? 0 : phase.failures + 1;
    const delay = jitteredBackoffMs(failures, o.backoff, o.random);
    const timer = o.scheduler.setTimeout(() => {
      if (this.phase.name === 'waiting') this.attempt(failures);
    }, delay);
    this.phase = { name: 'waiting', timer, failures };
    o.logger.info('mqtt reconnect scheduled', { reason, failures, delayMs: Math.round(delay) });
    if (phase.name === 'up') o.onDown(reason);
  }
}
