import type { Logger } from '@airpanel/node-support/logger';
import mqtt, { type MqttClient } from 'mqtt';
import { DYNSEC_RESPONSE_TOPIC, DynsecAdmin } from './dynsec.js';
import type { MqttGateway, PanelAccountReconciliation, PanelMessageSink } from './gateway.js';
import { DEFAULT_BACKEND_CLIENT_ID } from './mosquitto-config.js';
import { BACKEND_SUBSCRIPTIONS, deliverPanelMessage } from './panel-messages.js';
import { panelPublishing } from './outgoing.js';

export interface ExternalGatewayOptions {
  /** The broker as the backend reaches it, e.g. mqtt://mosquitto:1883 or mqtts://... */
  url: string;
  /** URL handed to panels, when they reach the broker by another name. Default: `url`. */
  panelUrl?: string;
  username: string;
  password: string;
  /** Must match the client id pinned in the dynsec file. Default `airpanel-backend`. */
  clientId?: string;
  /**
   * How panels get their broker accounts:
   * - `dynsec`: the backend creates and deletes them through Mosquitto's dynamic security
   *   plugin (the generated deployment; see dynsec.ts for why);
   * - `managed-elsewhere`: the operator provisions broker accounts by other means; the
   *   register/remove calls only log.
   * Default `dynsec`.
   */
  credentials?: 'dynsec' | 'managed-elsewhere';
  sink: PanelMessageSink;
  logger: Logger;
  /** Limit for the first connection and for each dynsec answer. Default 5 s. */
  timeoutMs?: number;
  /**
   * How long a publish waits for the broker's PUBACK before its promise rejects. The message
   * itself is not dropped: MQTT.js keeps it and sends it when the connection is back. This
   * keeps callers (and the backend's shutdown, which waits for publishes) from hanging on a
   * broker that is down. Default 10 s.
   */
  publishTimeoutMs?: number;
}

/**
 * The backend as a privileged client of an external broker. It listens to every panel's
 * status and events, publishes documents and commands, and (with dynsec) manages panel
 * accounts. The session is persistent (clean: false, fixed client id): events and will
 * messages published while the backend restarts wait for it in the broker.
 */
export function createExternalGateway(options: ExternalGatewayOptions): MqttGateway {
  const { sink, logger } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  // Panels whose latest status says online: an external broker does not tell a client who
  // else is connected, but every panel keeps a retained status with a last will.
  const onlinePanels = new Set<string>();
  const publishesInFlight = new Set<Promise<unknown>>();
  let client: MqttClient | undefined;
  let dynsec: DynsecAdmin | undefined;
  let closing: Promise<void> | undefined;

  function requireClient(): MqttClient {
    if (!client || closing) throw new Error('the external MQTT gateway is not connected (call start() first, and not after close())');
    return client;
  }

  async function publish(topic: string, payload: Buffer | string, retain: boolean): Promise<void> {
    const sending = requireClient().publishAsync(topic, payload, { qos: 1, retain });
    publishesInFlight.add(sending);
    void sending.then(
      () => publishesInFlight.delete(sending),
      () => publishesInFlight.delete(sending),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no PUBACK within ${publishTimeoutMs} ms (broker unreachable?); it goes out when the connection is back`)),
        publishTimeoutMs,
      );
    });
    try {
      await Promise.race([sending, timeout]);
    } catch (error) {
      sending.catch(() => undefined); // settled later or never; already reported here
      throw new Error(`publishing on ${topic} failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  function onMessage(topic: string, payload: Buffer): void {
    if (topic === DYNSEC_RESPONSE_TOPIC) {
      dynsec?.handleResponse(payload);
      return;
    }
    const delivered = deliverPanelMessage(sink, logger, topic, payload);
    if (delivered.kind === 'status') {
      if (delivered.message.online) onlinePanels.add(delivered.panelId);
      else onlinePanels.delete(delivered.panelId);
    }
  }

  async function start(): Promise<void> {
    if (client) throw new Error('the external MQTT gateway was already started');
    // No retries for the first attempt: a wrong URL or password must fail start() with a
    // clear message, not loop in the background.
    const connected = mqtt.connect(options.url, {
      clientId: options.clientId ?? DEFAULT_BACKEND_CLIENT_ID,
      username: options.username,
      password: options.password,
      clean: false,
      protocolVersion: 4,
      connectTimeout: timeoutMs,
      reconnectPeriod: 0,
    });
    // Listening before CONNACK: with a persistent session the broker sends what it queued
    // for the backend (events, wills) right behind the CONNACK, often in the same TCP read.
    connected.on('message', onMessage);
    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (): void => {
          connected.off('connect', onConnect);
          connected.off('error', onError);
          connected.off('close', onClose);
        };
        const onConnect = (): void => {
          settle();
          resolve();
        };
        const onError = (error: Error): void => {
          settle();
          reject(error);
        };
        const onClose = (): void => onError(new Error('connection closed before CONNACK'));
        connected.on('connect', onConnect);
        connected.on('error', onError);
        connected.on('close', onClose);
      });
    } catch (error) {
      connected.end(true);
      throw new Error(`cannot connect to the MQTT broker at ${options.url} as ${options.username}: ${(error as Error).message}`);
    }
    client = connected;
    // From now on, reconnect by itself; subscriptions are renewed on every reconnect.
    connected.options.reconnectPeriod = 1_000;
    connected.on('reconnect', () => logger.warn('mqtt: reconnecting to the broker', { url: options.url }));
    connected.on('error', (error) => logger.error('mqtt: broker connection error', { url: options.url, error: error.message }));
    connected.on('connect', () => logger.info('mqtt: connected to the broker', { url: options.url }));

    if ((options.credentials ?? 'dynsec') === 'dynsec') {
      dynsec = new DynsecAdmin((topic, payload) => publish(topic, payload, false), logger, options.username, timeoutMs);
    }
    const subscriptions = [...BACKEND_SUBSCRIPTIONS, ...(dynsec ? [DYNSEC_RESPONSE_TOPIC] : [])];
    const granted = await connected.subscribeAsync(subscriptions, { qos: 1 }).catch(async (error: unknown) => {
      const codes = (error as { packet?: { granted?: unknown[] } }).packet?.granted;
      dynsec?.close();
      dynsec = undefined;
      client = undefined;
      await connected.endAsync(true).catch(() => undefined);
      throw new Error(
        `the broker refused the backend's subscriptions ${subscriptions.join(', ')}${codes ? ` (SUBACK ${JSON.stringify(codes)})` : ''}: ` +
          `check the role of ${options.username} (the generated dynsec file grants them)`,
      );
    });
    logger.info('mqtt: joined the external broker', { url: options.url, subscriptions: granted.map((g) => g.topic) });
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      dynsec?.close();
      const running = client;
      if (!running) return;
      // Give in-flight QoS 1 messages a moment to be acknowledged. MQTT.js' own graceful end
      // would wait for them forever on a dead broker, and cannot be forced once begun.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...publishesInFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const graceful = running.connected && Object.keys(running.outgoing).length === 0;
      await running.endAsync(!graceful).catch(() => undefined);
    })();
    return closing;
  }

  return {
    start,
    close,
    get panelUrl(): string {
      return options.panelUrl ?? options.url;
    },
    ...panelPublishing(publish),
    async registerPanelCredentials(panelId: string, apiKey: string): Promise<void> {
      requireClient();
      if (!dynsec) {
        logger.info('mqtt: broker accounts are managed elsewhere; make sure this panel has one', { panelId });
        return;
      }
      await dynsec.upsertPanel(panelId, apiKey);
    },
    async removePanelCredentials(panelId: string): Promise<void> {
      requireClient();
      onlinePanels.delete(panelId);
      if (!dynsec) {
        logger.info("mqtt: broker accounts are managed elsewhere; remove this panel's account there", { panelId });
        return;
      }
      await dynsec.removePanel(panelId);
    },
    connectedPanelCount(): number {
      return onlinePanels.size;
    },
    async reconcilePanelAccounts(knownPanelIds: Iterable<string>): Promise<PanelAccountReconciliation> {
      requireClient();
      if (!dynsec) return { removed: [], missing: [] };
      const known = new Set(knownPanelIds);
      const backendAccount = options.username;
      const accounts = new Set((await dynsec.listClientUsernames()).filter((username) => username !== backendAccount));
      const removed: string[] = [];
      for (const username of accounts) {
        if (known.has(username)) continue;
        await dynsec.removePanel(username);
        onlinePanels.delete(username);
        removed.push(username);
      }
      // The caller logs the outcome: it knows how to tell an operator to rotate keys.
      const missing = [...known].filter((panelId) => !accounts.has(panelId));
      return { removed, missing };
    },
  };
}
