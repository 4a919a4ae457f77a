// The real panel core against the backend in external MQTT mode: a real Mosquitto whose panel
// accounts the backend created through the dynamic security plugin. This checks that what
// the panel does on MQTT (client id, will, subscriptions, status, command acks) fits the
// broker's per-panel ACL, not only aedes' hooks.
import { describe, expect, it } from 'vitest';
import { CommandRecord, PanelSummary } from '@airpanel/contract';
import { waitFor } from '@airpanel/panel/core/testing/fixtures';
import { provisionPanel, startBackend, startMosquitto, startPanel, useCleanups } from './harness/index.js';

const cleanups = useCleanups();

describe('panel core ⇄ backend ⇄ Mosquitto (dynamic security)', () => {
  it('goes live over MQTT, reports its status, acknowledges a command, and is cut off when deleted', async () => {
    const broker = await startMosquitto();
    cleanups.add(() => broker.stop());
    const { admin } = await startBackend({
      mode: 'in-process',
      cleanups,
      mqtt: { mode: 'external', url: broker.url, username: broker.backendUsername, password: broker.backendPassword },
      backend: { startLoops: false },
    });

    const registration = await provisionPanel(admin, { panelId: 'panel-street', name: 'Main street', sensorId: null });
    expect(registration.endpoints?.mqttUrl).toBe(broker.url);
    const { core, entries, hostActions } = await startPanel({
      mode: 'in-process',
      cleanups,
      registration,
      fastTuning: false,
      firmwareVersion: '1.0.0-mosquitto',
      random: () => 0.5,
      // Polling far beyond the test: whatever arrives, arrives over MQTT.
      tuning: {
        pollIntervalMs: 600_000,
        firstPollMaxDelayMs: 600_000,
        reconnectBackoff: { minMs: 20, baseMs: 60, maxMs: 200 },
        stableConnectionMs: 100,
      },
    });
    await waitFor('mqtt up', () => entries.some((e) => e.message === 'mqtt up'));
    await waitFor('live on the pushed document', () => core.state.name === 'live');

    // Its status went through Mosquitto to the backend.
    let summary: PanelSummary | null = null;
    await waitFor(
      'the backend hears the panel live',
      () => summary?.online === true && summary.state === 'live' && summary,
      3_000,
      async () => {
        summary = PanelSummary.parse(await admin.panel('panel-street'));
      },
    );

    // A command goes out QoS 1 through Mosquitto; the panel's ack comes back on its events topic.
    const sent = CommandRecord.parse(
      await admin.client.call('sendCommand', { params: { panelId: 'panel-street' }, body: { kind: 'reload' } }),
    );
    let record: CommandRecord | null = null;
    await waitFor(
      'the "done" ack',
      () => record?.acks.some((a) => a.status === 'done') && record,
      3_000,
      async () => {
        record = CommandRecord.parse(await admin.client.call('getCommand', { params: { panelId: 'panel-street', commandId: sent.id } }));
      },
    );
    expect(hostActions.calls).toContain('reload');

    // Deleting the panel deletes its broker account: Mosquitto drops it and refuses it since.
    const seen = entries.length;
    await admin.client.call('deletePanel', { params: { panelId: 'panel-street' } });
    const after = () => entries.slice(seen);
    await waitFor('the panel loses its broker connection', () => after().some((e) => e.message === 'mqtt reconnect scheduled'), 3_000);
    const refusal = await waitFor('a refused reconnect', () => after().find((e) => e.message === 'mqtt error'), 3_000);
    expect(String(refusal['error'])).toMatch(/not authorized|bad user ?name or password/i);
    await core.stop();
  });
});
