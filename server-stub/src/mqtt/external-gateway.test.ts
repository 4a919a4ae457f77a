import { afterEach, describe, expect, it } from 'vitest';
import { encodeDisplayDocument } from '../documents/draft.js';
import { createExternalGateway } from './external-gateway.js';
import type { MqttGateway } from './gateway.js';
import { describeGatewayContract } from './test-support/gateway-contract-suite.js';
import { startMosquitto, type RunningMosquitto } from './test-support/mosquitto-process.js';
import {
  RecordingLogger,
  RecordingSink,
  connectPanel,
  endAll,
  panelTopics,
  sampleDisplayDocument,
  sampleStatus,
} from './test-support/mqtt-test-kit.js';

function joinMosquitto(broker: RunningMosquitto, overrides: Partial<Parameters<typeof createExternalGateway>[0]> = {}) {
  const sink = new RecordingSink();
  const logger = new RecordingLogger();
  const gateway = createExternalGateway({
    url: broker.url,
    username: broker.backendUsername,
    password: broker.backendPassword,
    credentials: 'dynsec',
    sink,
    logger,
    ...overrides,
  });
  return { gateway, sink, logger };
}

describeGatewayContract('external Mosquitto with dynamic security', async () => {
  const broker = await startMosquitto();
  try {
    const { gateway, sink, logger } = joinMosquitto(broker);
    await gateway.start();
    return {
      gateway,
      sink,
      logger,
      addPanel: (panelId, key) => gateway.registerPanelCredentials(panelId, key),
      removePanel: (panelId) => gateway.removePanelCredentials(panelId),
      async close() {
        await gateway.close();
        await broker.stop();
      },
    };
  } catch (error) {
    await broker.stop();
    throw new Error(`${(error as Error).message}\nmosquitto log:\n${broker.log()}`);
  }
});

describe('external Mosquitto gateway', () => {
  let broker: RunningMosquitto | undefined;
  const gateways: MqttGateway[] = [];

  afterEach(async () => {
    for (const gateway of gateways.splice(0)) await gateway.close();
    await broker?.stop();
    broker = undefined;
  });

  it('fails start() with a clear message on a wrong backend password', async () => {
    broker = await startMosquitto();
    const { gateway } = joinMosquitto(broker, { password: 'wrong-password-000000' });
    gateways.push(gateway);
    await expect(gateway.start()).rejects.toThrow(/cannot connect to the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ as airpanel-backend/);
  });

  it('replaces a key: the old one is refused, the panel connected with it is dropped', async () => {
    broker = await startMosquitto();
    const { gateway } = joinMosquitto(broker);
    gateways.push(gateway);
    await gateway.start();
    await gateway.registerPanelCredentials('panel-a', 'first-key-0123456789');
    const first = await connectPanel(gateway.panelUrl, 'panel-a', 'first-key-0123456789');
    const dropped = new Promise<void>((resolve) => first.client.once('close', () => resolve()));
    await gateway.registerPanelCredentials('panel-a', 'second-key-0123456789');
    await dropped;
    await expect(connectPanel(gateway.panelUrl, 'panel-a', 'first-key-0123456789')).rejects.toMatchObject({ code: expect.any(Number) });
    const second = await connectPanel(gateway.panelUrl, 'panel-a', 'second-key-0123456789');
    await endAll([first.client, second.client]);
  });

  it('counts panels whose retained status says online, and forgets those whose will arrived', async () => {
    broker = await startMosquitto();
    const { gateway, sink } = joinMosquitto(broker);
    gateways.push(gateway);
    await gateway.start();
    await gateway.registerPanelCredentials('panel-a', 'key-a-0123456789');
    const a = await connectPanel(gateway.panelUrl, 'panel-a', 'key-a-0123456789', {
      will: {
        topic: panelTopics('panel-a').status,
        payload: Buffer.from(JSON.stringify({ panelId: 'panel-a', online: false })),
        qos: 1,
        retain: true,
      },
    });
    await a.client.publishAsync(panelTopics('panel-a').status, JSON.stringify(sampleStatus('panel-a')), { qos: 1, retain: true });
    await sink.until((s) => s.statuses.length === 1, 'the online status');
    expect(gateway.connectedPanelCount()).toBe(1);
    a.client.stream.destroy();
    await sink.until((s) => s.statuses.length === 2, 'the will');
    expect(gateway.connectedPanelCount()).toBe(0);
    await endAll([a.client]);
  });

  it('receives, after its own restart, the retained status and the events published meanwhile', async () => {
    broker = await startMosquitto();
    const first = joinMosquitto(broker);
    await first.gateway.start();
    await first.gateway.registerPanelCredentials('panel-a', 'key-a-0123456789');
    await first.gateway.close();

    const a = await connectPanel(broker.url, 'panel-a', 'key-a-0123456789');
    const status = sampleStatus('panel-a');
    await a.client.publishAsync(panelTopics('panel-a').status, JSON.stringify(status), { qos: 1, retain: true });
    const transition = {
      type: 'state-transition',
      panelId: 'panel-a',
      from: 'stale',
      to: 'live',
      reason: 'backend back',
      at: new Date().toISOString(),
    } as const;
    await a.client.publishAsync(panelTopics('panel-a').events, JSON.stringify(transition), { qos: 1 });

    const second = joinMosquitto(broker);
    gateways.push(second.gateway);
    await second.gateway.start();
    await second.sink.until((s) => s.statuses.length >= 1 && s.events.length === 1, 'the status and the queued event');
    expect(second.sink.statuses[0]).toEqual({ panelId: 'panel-a', message: status });
    expect(second.sink.events).toEqual([{ panelId: 'panel-a', event: transition }]);
    await endAll([a.client]);
  });
});

describe('external Mosquitto gateway across a broker restart', () => {
  it('reconnects by itself; panel accounts, retained documents and its subscriptions survive', async () => {
    const broker = await startMosquitto();
    const { gateway, sink } = joinMosquitto(broker);
    const clients = [];
    try {
      await gateway.start();
      await gateway.registerPanelCredentials('panel-a', 'key-a-0123456789');
      await gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument('panel-a', 5)));
      await broker.restart();

      const a = await connectPanel(broker.url, 'panel-a', 'key-a-0123456789');
      clients.push(a.client);
      await a.client.subscribeAsync(panelTopics('panel-a').display, { qos: 1 });
      await a.inbox.until((i) => i.on(panelTopics('panel-a').display).length === 1, 'the retained document after the restart');
      expect(a.inbox.json(panelTopics('panel-a').display)).toEqual([sampleDisplayDocument('panel-a', 5)]);

      // The backend is back too: it hears the panel and can publish again.
      await expect
        .poll(
          async () => {
            await a.client.publishAsync(panelTopics('panel-a').status, JSON.stringify(sampleStatus('panel-a')), { qos: 1 });
            return sink.statuses.length;
          },
          { timeout: 5_000, interval: 200 },
        )
        .toBeGreaterThan(0);
      await gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument('panel-a', 6)));
      await a.inbox.until((i) => i.on(panelTopics('panel-a').display).length === 2, 'the next document');
    } finally {
      await endAll(clients);
      await gateway.close();
      await broker.stop();
    }
  });
});

describe('external Mosquitto gateway, account reconciliation', () => {
  it('deletes accounts of panels the backend no longer knows and names panels without one', async () => {
    const broker = await startMosquitto();
    const { gateway } = joinMosquitto(broker);
    const clients = [];
    try {
      await gateway.start();
      await gateway.registerPanelCredentials('panel-kept', 'key-kept-0123456789');
      await gateway.registerPanelCredentials('panel-gone', 'key-gone-0123456789');
      const gone = await connectPanel(broker.url, 'panel-gone', 'key-gone-0123456789');
      clients.push(gone.client);

      const result = await gateway.reconcilePanelAccounts?.(['panel-kept', 'panel-new']);
      expect(result).toEqual({ removed: ['panel-gone'], missing: ['panel-new'] });
      await expect(connectPanel(broker.url, 'panel-gone', 'key-gone-0123456789')).rejects.toMatchObject({ code: expect.any(Number) });
      clients.push((await connectPanel(broker.url, 'panel-kept', 'key-kept-0123456789')).client);
      // The backend's own account survives: it can still administer.
      await gateway.registerPanelCredentials('panel-new', 'key-new-0123456789');
    } finally {
      await endAll(clients);
      await gateway.close();
      await broker.stop();
    }
  });
});

describe('external Mosquitto gateway with the broker gone', () => {
  it('rejects a publish after the PUBACK timeout and closes without hanging', async () => {
    const broker = await startMosquitto();
    const { gateway } = joinMosquitto(broker, { publishTimeoutMs: 300, timeoutMs: 500 });
    try {
      await gateway.start();
      await broker.stop();
      await expect(gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument('panel-a', 1)))).rejects.toThrow(
        /no PUBACK within 300 ms/,
      );
      const outcome = await Promise.race([
        gateway.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still closing after 3 s'), 3_000).unref()),
      ]);
      expect(outcome).toBe('closed');
    } finally {
      await gateway.close();
      await broker.stop();
    }
  });
});

describe('external Mosquitto gateway with accounts managed elsewhere', () => {
  it('leaves broker accounts alone and still carries documents', async () => {
    const broker = await startMosquitto();
    const managedElsewhere = joinMosquitto(broker, { credentials: 'managed-elsewhere' });
    const operator = joinMosquitto(broker);
    const clients = [];
    try {
      // An operator's tool (here: a dynsec gateway, run before the backend) creates the account.
      await operator.gateway.start();
      await operator.gateway.registerPanelCredentials('panel-a', 'key-a-0123456789');
      await operator.gateway.close();

      await managedElsewhere.gateway.start();
      await managedElsewhere.gateway.registerPanelCredentials('panel-a', 'another-key-0123456789');
      await managedElsewhere.gateway.removePanelCredentials('panel-a');
      expect(managedElsewhere.logger.has('info', 'managed elsewhere')).toBe(true);
      expect(await managedElsewhere.gateway.reconcilePanelAccounts?.([])).toEqual({ removed: [], missing: [] });

      // The account is untouched: the original key still works, and documents flow.
      await managedElsewhere.gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument('panel-a', 9)));
      const a = await connectPanel(broker.url, 'panel-a', 'key-a-0123456789');
      clients.push(a.client);
      await a.client.subscribeAsync(panelTopics('panel-a').display, { qos: 1 });
      await a.inbox.until((i) => i.on(panelTopics('panel-a').display).length === 1, 'the document');
    } finally {
      await endAll(clients);
      await managedElsewhere.gateway.close();
      await operator.gateway.close();
      await broker.stop();
    }
  });
});
