// Helpers for the MQTT tests (gateway tests here and the end-to-end tests under test/):
// sample contract messages, a recording sink and logger, and real MQTT.js panel clients.
import type { Logger } from '@airpanel/node-support/logger';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  DEFAULT_CONTENT_SET,
  DEFAULT_LEVEL_SCHEME,
  panelTopics,
  type DisplayDocument,
  type LevelContent,
  type PanelEvent,
  type PanelStatus,
  type StatusMessage,
} from '@airpanel/contract';
import type { PanelMessageSink } from '../gateway.js';

export function sampleDisplayDocument(panelId: string, revision: number): DisplayDocument {
  const issuedAt = new Date('2026-01-01T12:00:00.000Z');
  return {
    schemaVersion: 1,
    panelId,
    revision,
    issuedAt: issuedAt.toISOString(),
    validUntil: new Date(issuedAt.getTime() + 3_600_000).toISOString(),
    level: { id: 'good', label: 'Good', index: 0, of: 3 },
    readings: null,
    content: DEFAULT_CONTENT_SET.byLevel.good as LevelContent,
    locale: 'en',
    scheme: DEFAULT_LEVEL_SCHEME,
  };
}

export function sampleStatus(panelId: string, uptimeSeconds = 12): PanelStatus {
  return {
    panelId,
    online: true,
    firmwareVersion: '1.0.0',
    state: 'live',
    stateReason: 'document received',
    displayedRevision: 1,
    uptimeSeconds,
    lastError: null,
    maintenanceCode: null,
    sentAt: new Date().toISOString(),
  };
}

/** Callers waiting for a condition on recorded messages: `wake()` after each new message. */
class Waiters {
  private list: Array<() => void> = [];

  wake(): void {
    for (const waiter of [...this.list]) waiter();
  }

  /** Resolves once `test()` holds (checked now and at each wake), or rejects after `timeoutMs`. */
  async until(test: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (test()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.list = this.list.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (!test()) return;
        clearTimeout(timer);
        this.list = this.list.filter((w) => w !== check);
        resolve();
      };
      this.list.push(check);
    });
  }
}

/** A sink that records what the gateway delivered and lets a test wait for it. */
export class RecordingSink implements PanelMessageSink {
  readonly statuses: Array<{ panelId: string; message: StatusMessage }> = [];
  readonly events: Array<{ panelId: string; event: PanelEvent }> = [];
  private readonly waiters = new Waiters();

  onStatus(panelId: string, message: StatusMessage): void {
    this.statuses.push({ panelId, message });
    this.waiters.wake();
  }

  onEvent(panelId: string, event: PanelEvent): void {
    this.events.push({ panelId, event });
    this.waiters.wake();
  }

  /** Resolves once `predicate` holds, or rejects after `timeoutMs`. */
  async until(predicate: (sink: RecordingSink) => boolean, what: string, timeoutMs = 3_000): Promise<void> {
    await this.waiters.until(() => predicate(this), what, timeoutMs);
  }
}

/** A logger that keeps its entries, so tests can see that a drop was logged. */
export class RecordingLogger implements Logger {
  readonly entries: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];
  debug(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'debug', message, meta });
  }
  info(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'info', message, meta });
  }
  warn(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'warn', message, meta });
  }
  error(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'error', message, meta });
  }
  has(level: string, fragment: string): boolean {
    return this.entries.some((e) => e.level === level && e.message.includes(fragment));
  }
}

export interface PanelConnection {
  client: MqttClient;
  /** Attached before CONNECT, so nothing the broker sends right after CONNACK is missed. */
  inbox: Inbox;
}

/** Connects like a panel does: client id = username = panel id, password = key, no retries. */
export function connectPanel(url: string, panelId: string, key: string, extra: IClientOptions = {}): Promise<PanelConnection> {
  const client = mqtt.connect(url, {
    clientId: panelId,
    username: panelId,
    password: key,
    reconnectPeriod: 0,
    connectTimeout: 3_000,
    protocolVersion: 4,
    ...extra,
  });
  const inbox = new Inbox(client);
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    const onConnect = (): void => {
      settle();
      resolve({ client, inbox });
    };
    const onError = (error: Error): void => {
      settle();
      client.end(true);
      reject(error);
    };
    const onClose = (): void => onError(new Error(`${panelId}: connection closed before CONNACK`));
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/**
 * The SUBACK return codes for `topics` (128 = refused). MQTT.js rejects a subscribe with any
 * refused topic, but the SUBACK it carries still says which.
 */
export async function grantedQos(client: MqttClient, topics: string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    return (await client.subscribeAsync(topics, { qos })).map((g) => g.qos);
  } catch (error) {
    const granted = (error as { packet?: { granted?: Array<number | { qos: number }> } }).packet?.granted;
    if (!granted) throw error;
    return granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}

/** Ends clients without waiting for the broker, so a dead broker cannot hang a test. */
export async function endAll(clients: Iterable<MqttClient | undefined>): Promise<void> {
  await Promise.all([...clients].map((c) => (c ? c.endAsync(true).catch(() => undefined) : undefined)));
}

/** Collects messages of one client, by topic, and waits for them. */
export class Inbox {
  readonly messages: Array<{ topic: string; payload: Buffer; retain: boolean; qos: number }> = [];
  private readonly waiters = new Waiters();

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, retain: packet.retain, qos: packet.qos });
      this.waiters.wake();
    });
  }

  on(topic: string): Array<{ topic: string; payload: Buffer; retain: boolean; qos: number }> {
    return this.messages.filter((m) => m.topic === topic);
  }

  json(topic: string): unknown[] {
    return this.on(topic)
      .filter((m) => m.payload.length > 0)
      .map((m) => JSON.parse(m.payload.toString('utf8')) as unknown);
  }

  async until(predicate: (inbox: Inbox) => boolean, what: string, timeoutMs = 3_000): Promise<void> {
    await this.waiters.until(() => predicate(this), what, timeoutMs);
  }
}

/** Resolves when the client is closed by the broker (or rejects after `timeoutMs`). */
export function closedByBroker(client: MqttClient, timeoutMs = 3_000): Promise<void> {
  if (!client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the broker did not close ${client.options.clientId} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export { panelTopics };
