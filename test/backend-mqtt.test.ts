// The backend's MQTT side end to end: createBackend (REST, SQLite, documents) with the
// embedded aedes broker, and with a real Mosquitto it joins as a privileged client. Panels
// here are plain MQTT.js clients with the credentials the REST API issued.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DisplayDocument, PanelRegistration, panelTopics } from '@airpanel/contract';
import type { Backend, BackendOptions } from '@airpanel/backend/backend';
import { startMosquitto, type RunningMosquitto } from '@airpanel/backend/mqtt/test-support/mosquitto-process';
import { connectPanel, endAll, grantedQos } from '@airpanel/backend/mqtt/test-support/mqtt-test-kit';
import { testApi } from '@airpanel/backend/test-support';
import { Cleanups, startBackend as startHarnessBackend } from './harness/index.js';

const ADMIN_TOKEN = 'admin-token-for-backend-mqtt-tests-0123456789';
const SENSOR = 'sim-street';

/** The backend's admin API: the contract's typed client with its admin token. */
const admin = (backend: Backend) => testApi(backend).admin;

async function createPanel(backend: Backend, id: string): Promise<PanelRegistration> {
  return PanelRegistration.parse(await admin(backend).call('createPanel', { body: { id, name: `Panel ${id}`, sensorSourceId: SENSOR } }));
}

const postPm25 = (backend: Backend, pm25: number) =>
  admin(backend).call('postReading', { params: { sensorId: SENSOR }, body: { values: { pm25 } } });

const createSensor = (backend: Backend) =>
  admin(backend).call('createSensorSource', { body: { id: SENSOR, name: 'Simulated street sensor', spec: { kind: 'simulated' } } });

function documents(inbox: { json(topic: string): unknown[] }, panelId: string): DisplayDocument[] {
  return inbox.json(panelTopics(panelId).display).map((d) => DisplayDocument.parse(d));
}

type BrokerMode = { name: string; mqttOptions: () => Pick<BackendOptions, 'mqtt'> };

function describeBackendOverMqtt(mode: BrokerMode, setup: () => Promise<void>, teardown: () => Promise<void>): void {
  describe(`backend over MQTT (${mode.name})`, () => {
    let dataDir: string;
    const cleanups = new Cleanups();
    const clients: MqttClient[] = [];

    async function startBackend(): Promise<Backend> {
      const started = await startHarnessBackend({
        mode: 'in-process',
        cleanups,
        dataDir,
        adminToken: ADMIN_TOKEN,
        backend: { startLoops: false, ...mode.mqttOptions() },
      });
      return started.backend;
    }

    async function subscribeDisplay(backend: Backend, registration: PanelRegistration) {
      const panel = await connectPanel(backend.mqttUrl as string, registration.panel.id, registration.apiKey);
      clients.push(panel.client);
      expect(await grantedQos(panel.client, [panelTopics(registration.panel.id).display])).toEqual([1]);
      return panel;
    }

    beforeEach(async () => {
      await setup();
      dataDir = await mkdtemp(join(tmpdir(), 'airpanel-backend-mqtt-'));
    });

    afterEach(async () => {
      await endAll(clients.splice(0));
      await cleanups.run();
      await teardown();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('pushes a new retained document within a second when a reading crosses a breakpoint, to that panel only', async () => {
      const backend = await startBackend();
      await createSensor(backend);
      const a = await createPanel(backend, 'panel-a');
      const b = await createPanel(backend, 'panel-b');
      await postPm25(backend, 5);

      const subscriber = await subscribeDisplay(backend, a);
      await subscriber.inbox.until((i) => documents(i, 'panel-a').some((d) => d.level.id === 'good'), 'the retained "good" document');
      const good = documents(subscriber.inbox, 'panel-a').at(-1) as DisplayDocument;

      await postPm25(backend, 80);
      await subscriber.inbox.until((i) => documents(i, 'panel-a').some((d) => d.level.id === 'bad'), 'the "bad" document', 1_000);
      const bad = documents(subscriber.inbox, 'panel-a').at(-1) as DisplayDocument;
      expect(bad.revision).toBeGreaterThan(good.revision);
      expect(bad.readings?.values.pm25).toBe(80);

      // Retained: a panel connecting now gets it at once.
      const late = await subscribeDisplay(backend, a);
      await late.inbox.until((i) => i.on(panelTopics('panel-a').display).length === 1, 'the retained document for a late subscriber');
      expect(late.inbox.on(panelTopics('panel-a').display)[0]?.retain).toBe(true);
      expect(documents(late.inbox, 'panel-a')).toEqual([bad]);

      // B's credentials do not open A's topic, and B's key is not A's.
      const intruder = await connectPanel(backend.mqttUrl as string, 'panel-b', b.apiKey);
      clients.push(intruder.client);
      expect(await grantedQos(intruder.client, [panelTopics('panel-a').display])).toEqual([128]);
      await expect(connectPanel(backend.mqttUrl as string, 'panel-a', b.apiKey)).rejects.toMatchObject({ code: expect.any(Number) });
      expect(intruder.inbox.messages).toEqual([]);
    });

    it('keeps revisions growing across a backend restart, and republishes the current document', async () => {
      const first = await startBackend();
      await createSensor(first);
      const a = await createPanel(first, 'panel-a');
      await postPm25(first, 5);
      await postPm25(first, 80);
      const before = DisplayDocument.parse(await admin(first).call('getDisplay', { params: { panelId: 'panel-a' } }));
      await first.close();

      const second = await startBackend();
      const subscriber = await subscribeDisplay(second, a);
      await subscriber.inbox.until((i) => documents(i, 'panel-a').length >= 1, 'the document after the restart');
      const republished = documents(subscriber.inbox, 'panel-a')[0] as DisplayDocument;
      expect(republished.revision).toBeGreaterThanOrEqual(before.revision);
      expect(republished.level.id).toBe('bad');

      await postPm25(second, 5);
      await subscriber.inbox.until((i) => documents(i, 'panel-a').some((d) => d.level.id === 'good'), 'the "good" document', 1_000);
      const revisions = documents(subscriber.inbox, 'panel-a').map((d) => d.revision);
      expect(revisions.at(-1)).toBeGreaterThan(republished.revision);
      expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
    });
  });
}

describeBackendOverMqtt(
  { name: 'embedded aedes', mqttOptions: () => ({ mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' } }) },
  async () => undefined,
  async () => undefined,
);

let mosquitto: RunningMosquitto | undefined;
describeBackendOverMqtt(
  {
    name: 'external Mosquitto',
    mqttOptions: () => {
      const broker = mosquitto as RunningMosquitto;
      return { mqtt: { mode: 'external', url: broker.url, username: broker.backendUsername, password: broker.backendPassword } };
    },
  },
  async () => {
    mosquitto = await startMosquitto();
  },
  async () => {
    await mosquitto?.stop();
    mosquitto = undefined;
  },
);
