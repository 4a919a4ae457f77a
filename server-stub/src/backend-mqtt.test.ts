import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Command, DisplayDocument, panelTopics } from '@airpanel/contract';
import type { PanelStatus } from '@airpanel/contract';
import type { Backend } from './backend.js';
import { startMosquitto } from './mqtt/test-support/mosquitto-process.js';
import { useTestBackend } from './test-support.js';

/** Collects what a topic receives and lets a test wait for a matching message. */
class Inbox {
  readonly messages: { topic: string; json: unknown; retain: boolean }[] = [];
  private waiters: (() => void)[] = [];
  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, json: payload.length ? JSON.parse(payload.toString('utf8')) : null, retain: packet.retain });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }
  async waitFor<T>(
    predicate: (m: { topic: string; json: unknown; retain: boolean }) => T | undefined | false,
    timeoutMs = 3_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const m of this.messages) {
        const found = predicate(m);
        if (found) return found;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching MQTT message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => m.topic))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('backend with the embedded MQTT broker', () => {
  const server = useTestBackend({ mqtt: { mode: 'embedded', port: 0 } });
  let backend: Backend;
  const clients: MqttClient[] = [];

  beforeEach(async () => {
    backend = await server.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });

  async function connectAs(panelId: string, password: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(backend.mqttUrl!, {
      username: panelId,
      password,
      clientId: panelId,
      reconnectPeriod: 0,
      connectTimeout: 3_000,
    });
    clients.push(client);
    return client;
  }

  it('pushes documents, delivers commands, and records status and acks from the panel', async () => {
    const admin = server.api.admin;
    await admin.call('createSensorSource', { body: { id: 'sim-m', name: 'Sim', spec: { kind: 'simulated' } } });
    const reg = await admin.call('createPanel', { body: { id: 'panel-m', name: 'MQTT', sensorSourceId: 'sim-m' } });
    expect(reg.endpoints.mqttUrl).toBe(backend.mqttUrl);
    const topics = panelTopics('panel-m');

    await expect(connectAs('panel-m', 'wrong-key-wrong-key-wrong-key-wrong')).rejects.toThrow();

    const panel = await connectAs('panel-m', reg.apiKey);
    const inbox = new Inbox(panel);
    await panel.subscribeAsync([topics.display, topics.commands], { qos: 1 });
    const retained = await inbox.waitFor((m) => m.topic === topics.display && DisplayDocument.parse(m.json));
    expect(retained.panelId).toBe('panel-m');

    await admin.call('postReading', { params: { sensorId: 'sim-m' }, body: { values: { pm25: 70 } } });
    const pushed = await inbox.waitFor((m) => {
      if (m.topic !== topics.display) return undefined;
      const doc = DisplayDocument.parse(m.json);
      return doc.level.id === 'bad' ? doc : undefined;
    });
    expect(pushed.revision).toBeGreaterThan(retained.revision);

    const status: PanelStatus = {
      panelId: 'panel-m',
      online: true,
      firmwareVersion: '1.2.3',
      state: 'live',
      stateReason: 'document confirmed',
      displayedRevision: pushed.revision,
      uptimeSeconds: 12,
      lastError: null,
      maintenanceCode: null,
      sentAt: new Date().toISOString(),
      lastStart: { reason: 'watchdog', at: new Date().toISOString(), detail: 'watchdog: killed ABRT', bootedSlot: 'A' },
    };
    await panel.publishAsync(topics.status, JSON.stringify(status), { qos: 1, retain: true });
    const panelM = { params: { panelId: 'panel-m' } };
    const summary = await eventually(async () => {
      const s = await admin.call('getPanel', panelM);
      return s.firmwareVersion === '1.2.3' ? s : undefined;
    });
    expect(summary).toMatchObject({ online: true, state: 'live', displayedRevision: pushed.revision, lagging: false });
    // Why the panel's app last started: stored from its status, shown in the summary.
    expect(summary.lastStart).toMatchObject({ reason: 'watchdog', detail: 'watchdog: killed ABRT', bootedSlot: 'A' });

    const sent = await admin.call('sendCommand', { ...panelM, body: { kind: 'screenshot' } });
    const received = await inbox.waitFor((m) => m.topic === topics.commands && Command.parse(m.json));
    expect(received).toMatchObject({ id: sent.id, kind: 'screenshot', panelId: 'panel-m' });
    await panel.publishAsync(
      topics.events,
      JSON.stringify({
        type: 'command-ack',
        ack: { commandId: sent.id, panelId: 'panel-m', status: 'done', detail: null, at: new Date().toISOString() },
      }),
      { qos: 1 },
    );
    const acked = await eventually(async () => {
      const record = await admin.call('getCommand', { params: { panelId: 'panel-m', commandId: sent.id } });
      return record.acks.length > 0 ? record : undefined;
    });
    expect(acked.acks[0]).toMatchObject({ status: 'done' });

    // What the last will says when a panel vanishes; published here by hand to keep the test short.
    await panel.publishAsync(topics.status, JSON.stringify({ panelId: 'panel-m', online: false }), { qos: 1, retain: true });
    await eventually(async () => {
      const s = await admin.call('getPanel', panelM);
      return s.online === false || undefined;
    });
    expect(await admin.call('getMetrics')).toMatch(/airpanel_mqtt_connected_panels 1/);
  });
});

describe('backend with an external Mosquitto, configured by options alone', () => {
  const server = useTestBackend();

  it('registers the panel on the broker and publishes its document there', async () => {
    const broker = await startMosquitto();
    let panel: MqttClient | null = null;
    try {
      const backend = await server.start({
        mqtt: { mode: 'external', url: broker.url, username: broker.backendUsername, password: broker.backendPassword },
      });
      expect(backend.mqttUrl).toBe(broker.url);
      const reg = await server.api.admin.call('createPanel', { body: { id: 'panel-x', name: 'External' } });
      panel = await mqtt.connectAsync(broker.url, {
        username: 'panel-x',
        password: reg.apiKey,
        clientId: 'panel-x',
        reconnectPeriod: 0,
        connectTimeout: 3_000,
      });
      const inbox = new Inbox(panel);
      await panel.subscribeAsync(panelTopics('panel-x').display, { qos: 1 });
      const doc = await inbox.waitFor((m) => DisplayDocument.parse(m.json));
      expect(doc.panelId).toBe('panel-x');
    } finally {
      await panel?.endAsync(true);
      await server.stop();
      await broker.stop();
    }
  });
});
