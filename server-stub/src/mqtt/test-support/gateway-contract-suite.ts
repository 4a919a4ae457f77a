// The behaviour every MqttGateway must show, run against each real broker (embedded aedes,
// external Mosquitto) by that gateway's test file.
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command, PanelStatus } from '@airpanel/contract';
import { encodeDisplayDocument } from '../../documents/draft.js';
import type { MqttGateway } from '../gateway.js';
import type { RecordingLogger, RecordingSink } from './mqtt-test-kit.js';
import { closedByBroker, connectPanel, endAll, grantedQos, panelTopics, sampleDisplayDocument, sampleStatus } from './mqtt-test-kit.js';

export interface GatewayHarness {
  gateway: MqttGateway;
  sink: RecordingSink;
  logger: RecordingLogger;
  /** Makes a panel known to the backend (its key store) and, through the gateway, to the broker. */
  addPanel(panelId: string, key: string): Promise<void>;
  /** Forgets a panel in the key store and, through the gateway, on the broker. */
  removePanel(panelId: string): Promise<void>;
  close(): Promise<void>;
}

const A = 'panel-a';
const B = 'panel-b';
const KEY_A = 'key-of-panel-a-0123456789';
const KEY_B = 'key-of-panel-b-0123456789';

/** MQTT.js reports a refused CONNECT with the CONNACK return code in `code`. */
async function refusedCode(attempt: Promise<unknown>): Promise<number | undefined> {
  const error = await attempt.then(
    () => {
      throw new Error('the connection was accepted');
    },
    (e: unknown) => e as { code?: number },
  );
  return error.code;
}

function sampleCommand(panelId: string): Command {
  const now = Date.now();
  return {
    id: randomUUID(),
    panelId,
    kind: 'reload',
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 3_600_000).toISOString(),
  };
}

export function describeGatewayContract(name: string, createHarness: () => Promise<GatewayHarness>): void {
  describe(`${name}: the MqttGateway contract`, () => {
    let harness: GatewayHarness;
    const clients: MqttClient[] = [];

    async function panel(panelId: string, key: string, extra: Parameters<typeof connectPanel>[3] = {}) {
      const connection = await connectPanel(harness.gateway.panelUrl, panelId, key, extra);
      clients.push(connection.client);
      return connection;
    }

    beforeEach(async () => {
      harness = await createHarness();
      await harness.addPanel(A, KEY_A);
      await harness.addPanel(B, KEY_B);
    });

    afterEach(async () => {
      await endAll(clients.splice(0));
      await harness.close();
    });

    it('delivers the retained document to its panel, which may read only its own topics', async () => {
      await harness.gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument(A, 7)));
      const { client, inbox } = await panel(A, KEY_A);
      expect(await grantedQos(client, [panelTopics(A).display, panelTopics(A).commands])).toEqual([1, 1]);
      await inbox.until((i) => i.on(panelTopics(A).display).length === 1, 'the retained document');
      const [message] = inbox.on(panelTopics(A).display);
      expect(message?.retain).toBe(true);
      expect(inbox.json(panelTopics(A).display)).toEqual([sampleDisplayDocument(A, 7)]);
    });

    it('refuses a wrong key, a foreign client id and an anonymous client', async () => {
      const url = harness.gateway.panelUrl;
      expect(await refusedCode(connectPanel(url, A, KEY_B))).toBeOneOf([4, 5]);
      expect(await refusedCode(connectPanel(url, A, KEY_A, { clientId: B }))).toBeOneOf([2, 4, 5]);
      expect(await refusedCode(connectPanel(url, A, KEY_A, { username: undefined, password: undefined }))).toBeOneOf([4, 5]);
    });

    it("negates a subscription to another panel's topics, which then bring nothing", async () => {
      const { client, inbox } = await panel(A, KEY_A);
      const refused = await grantedQos(client, [panelTopics(B).display, panelTopics(B).commands, 'airpanel/v1/panels/+/display', '#']);
      expect(refused).toEqual([128, 128, 128, 128]);
      await client.subscribeAsync(panelTopics(A).display, { qos: 1 });
      // B's document goes first; once A's own arrives, B's would have arrived too.
      await harness.gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument(B, 3)));
      await harness.gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument(A, 4)));
      await inbox.until((i) => i.on(panelTopics(A).display).length === 1, "A's own document");
      expect(inbox.messages.map((m) => m.topic)).toEqual([panelTopics(A).display]);
    });

    it("hands a panel's status and events to the sink, and refuses a status published for another panel", async () => {
      const a = await panel(A, KEY_A);
      const forged: PanelStatus = { ...sampleStatus(B), stateReason: 'forged by A' };
      // aedes closes the offender's connection, Mosquitto drops the message: either way B's status is untouched.
      await Promise.race([a.client.publishAsync(panelTopics(B).status, JSON.stringify(forged), { qos: 1 }), closedByBroker(a.client)]);

      const b = await panel(B, KEY_B);
      const statusB = sampleStatus(B);
      await b.client.publishAsync(panelTopics(B).status, JSON.stringify(statusB), { qos: 1, retain: true });
      const ack = {
        type: 'command-ack',
        ack: { commandId: randomUUID(), panelId: B, status: 'done', detail: null, at: new Date().toISOString() },
      } as const;
      await b.client.publishAsync(panelTopics(B).events, JSON.stringify(ack), { qos: 1 });
      await harness.sink.until((s) => s.events.length === 1, "B's event");

      expect(harness.sink.statuses).toEqual([{ panelId: B, message: statusB }]);
      expect(harness.sink.events).toEqual([{ panelId: B, event: ack }]);
    });

    it('logs and drops invalid messages and keeps serving', async () => {
      const { client } = await panel(A, KEY_A);
      await client.publishAsync(panelTopics(A).status, '{not json', { qos: 1 });
      await client.publishAsync(panelTopics(A).status, JSON.stringify({ panelId: A, online: 'yes' }), { qos: 1 });
      await client.publishAsync(panelTopics(A).status, JSON.stringify(sampleStatus(B)), { qos: 1 });
      await client.publishAsync(panelTopics(A).events, JSON.stringify({ type: 'state-transition', panelId: A }), { qos: 1 });
      await client.publishAsync(panelTopics(A).status, JSON.stringify(sampleStatus(A, 99)), { qos: 1 });
      await harness.sink.until((s) => s.statuses.length === 1, 'the valid status after the invalid ones');

      expect(harness.sink.statuses.map((s) => [s.panelId, 'uptimeSeconds' in s.message ? s.message.uptimeSeconds : null])).toEqual([
        [A, 99],
      ]);
      expect(harness.sink.events).toEqual([]);
      expect(harness.logger.entries.filter((e) => e.level === 'warn' && e.message.includes('invalid panel message'))).toHaveLength(4);
    });

    it("reports a vanished panel's last will as offline", async () => {
      const will = { panelId: A, online: false };
      const { client } = await panel(A, KEY_A, {
        will: { topic: panelTopics(A).status, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
      });
      await client.publishAsync(panelTopics(A).status, JSON.stringify(sampleStatus(A)), { qos: 1, retain: true });
      await harness.sink.until((s) => s.statuses.length === 1, 'the online status');
      client.stream.destroy();
      await harness.sink.until((s) => s.statuses.length === 2, 'the last will');
      expect(harness.sink.statuses[1]).toEqual({ panelId: A, message: will });
    });

    it('queues a command (QoS 1) for an offline panel with a persistent session until it reconnects', async () => {
      const first = await panel(A, KEY_A, { clean: false });
      await first.client.subscribeAsync(panelTopics(A).commands, { qos: 1 });
      await first.client.endAsync();

      const command = sampleCommand(A);
      await harness.gateway.publishCommand(command);

      const again = await panel(A, KEY_A, { clean: false });
      await again.inbox.until((i) => i.on(panelTopics(A).commands).length === 1, 'the queued command');
      const [message] = again.inbox.on(panelTopics(A).commands);
      expect(message?.qos).toBe(1);
      expect(message?.retain).toBe(false);
      expect(again.inbox.json(panelTopics(A).commands)).toEqual([command]);
    });

    it('clears a retained document', async () => {
      await harness.gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument(A, 1)));
      await harness.gateway.clearDisplay(A);
      const { client, inbox } = await panel(A, KEY_A);
      await client.subscribeAsync(panelTopics(A).display, { qos: 1 });
      await harness.gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument(A, 2)));
      await inbox.until((i) => i.json(panelTopics(A).display).length === 1, 'the next document');
      // Revision 1 would have come first, as a retained message on SUBACK.
      expect(inbox.json(panelTopics(A).display)).toEqual([sampleDisplayDocument(A, 2)]);
    });

    it('locks out a removed panel and leaves the others alone', async () => {
      const a = await panel(A, KEY_A);
      await harness.removePanel(A);
      await closedByBroker(a.client);
      expect(await refusedCode(connectPanel(harness.gateway.panelUrl, A, KEY_A))).toBeOneOf([4, 5]);
      const b = await panel(B, KEY_B);
      expect(b.client.connected).toBe(true);
    });

    it('refuses to publish commands that break the contract (documents are checked by encodeDisplayDocument)', async () => {
      await expect(harness.gateway.publishCommand({ ...sampleCommand(A), id: 'not-a-uuid' })).rejects.toThrow(/invalid Command/);
    });
  });
}
