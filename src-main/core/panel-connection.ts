import type { Got } from 'got';
import { type CommandAck, type PanelConfig, panelTopics } from '@airpanel/contract';
import type { Logger } from '@airpanel/node-support/logger';
import type { MonotonicClock, RandomSource, Scheduler, WallClock } from './clock.js';
import { CommandProcessor, type UpdateChecker } from './commands.js';
import type { Connected } from './core-lifecycle.js';
import { DisplayPoller, type PollOutcome } from './display-poller.js';
import { DisplaySync } from './display-sync.js';
import type { HostActions } from './host.js';
import { type MqttClientFactory, MqttLink } from './mqtt-link.js';
import type { CoreTuning } from './panel-core-options.js';
import type { PanelTransport } from './transport/panel-transport.js';

export interface PanelConnectionOptions {
  config: PanelConfig;
  /** Already through the trust store (`PanelTransport.http`). */
  http: Got;
  mqttConnect: MqttClientFactory;
  transport: PanelTransport;
  tuning: CoreTuning;
  hostActions: HostActions;
  updateChecker: UpdateChecker | null;
  wallClock: WallClock;
  monotonicClock: MonotonicClock;
  random: RandomSource;
  scheduler: Scheduler;
  logger: Logger;
  /** The ETag of the document on screen, sent as If-None-Match. */
  currentETag: () => string | null;
  /** MQTT subscribed and ready. */
  onLinkUp: () => void;
  /** MQTT lost after having been up. */
  onLinkDown: () => void;
  /** A display document's bytes, not yet judged. */
  onDocument: (bytes: Buffer, source: 'mqtt' | 'http') => void;
  onPollOutcome: (outcome: PollOutcome) => void;
  publishAck: (ack: CommandAck) => Promise<boolean>;
}

/**
 * The parts of one panel's connection to its backend, built from a known-good panel.json:
 * the MQTT link (when there is an MQTT URL), the poller, the sync between them and the command
 * processor. Nothing is started: `sync.start()` starts the link and the polls.
 */
export function buildPanelConnection(o: PanelConnectionOptions): Connected {
  const { config, tuning, logger } = o;
  // The contract derives the topics from the panel id (the broker's ACL does the same);
  // panel.json's copy is informative, and a mismatch is worth a technician's look.
  const topics = panelTopics(config.panelId);
  const configured = config.endpoints.topics;
  if (
    configured.display !== topics.display ||
    configured.status !== topics.status ||
    configured.commands !== topics.commands ||
    configured.events !== topics.events
  ) {
    logger.warn('panel.json topics differ from the contract; using the contract', { configured, used: topics });
  }
  const poller = new DisplayPoller({
    http: o.http,
    apiBaseUrl: config.endpoints.apiBaseUrl,
    panelId: config.panelId,
    apiKey: config.apiKey,
    timeoutMs: tuning.httpTimeoutMs,
    currentETag: o.currentETag,
  });
  logger.info('transport', o.transport.trust.describe());
  let link: MqttLink | null = null;
  const mqttUrl = config.endpoints.mqttUrl;
  if (mqttUrl) {
    const mqttEndpoint = new URL(mqttUrl);
    link = new MqttLink({
      url: mqttUrl,
      panelId: config.panelId,
      apiKey: config.apiKey,
      topics,
      tls: o.transport.mqttTls(),
      onConnectionError: (err) => o.transport.connectionFailed('mqtt', err, `${mqttEndpoint.protocol}//${mqttEndpoint.host}`),
      connect: o.mqttConnect,
      backoff: tuning.reconnectBackoff,
      stableConnectionMs: tuning.stableConnectionMs,
      connectTimeoutMs: tuning.connectTimeoutMs,
      keepaliveSeconds: tuning.keepaliveSeconds,
      random: o.random,
      scheduler: o.scheduler,
      monotonicClock: o.monotonicClock,
      logger,
      onUp: () => o.onLinkUp(),
      onDown: () => o.onLinkDown(),
      onDisplay: (payload) => o.onDocument(payload, 'mqtt'),
      onCommand: (payload) => {
        commands.handle(payload).catch((err: unknown) => logger.error('command handling failed', { error: String(err) }));
      },
    });
  } else {
    logger.info('no mqttUrl in panel.json: HTTP polling only');
  }
  const sync = new DisplaySync({
    link,
    poller,
    pollIntervalMs: tuning.pollIntervalMs ?? config.pollIntervalSeconds * 1000,
    pollJitter: tuning.pollJitter,
    firstPollMaxDelayMs: tuning.firstPollMaxDelayMs,
    random: o.random,
    scheduler: o.scheduler,
    logger,
    onPollOutcome: o.onPollOutcome,
  });
  const commands = new CommandProcessor({
    panelId: config.panelId,
    apiBaseUrl: config.endpoints.apiBaseUrl,
    apiKey: config.apiKey,
    http: o.http,
    httpTimeoutMs: tuning.httpTimeoutMs,
    wallClock: o.wallClock,
    hostActions: o.hostActions,
    updateChecker: o.updateChecker,
    logger,
    publishAck: o.publishAck,
  });
  return { config, topics, link, sync, commands };
}
