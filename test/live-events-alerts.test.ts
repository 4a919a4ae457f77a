// The backoffice's live updates and alerts against a real backend and a real panel core (MQTT
// through the embedded broker, behind link proxies a test cuts): the event stream carries the
// panel's status reports and its command acks; a panel cut from the network turns offline,
// raises an alert and a webhook call (retried after the receiver's 500), cleared when it is back.
import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '@airpanel/contract';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import { openEventStream } from '@airpanel/backend/events/sse-client.test-support';
import { signatureValid, startWebhookReceiver } from '@airpanel/backend/alerts/webhook-receiver.test-support';
import { provisionPanel, proxyBackendLinks, startBackend, startPanel, useCleanups, waitUntil } from './harness/index.js';

const SECRET = 'live-events-webhook-secret';

describe('live events and alerts with a real panel core', () => {
  const cleanups = useCleanups();

  it('streams status and acks; a panel cut off raises an offline alert and a webhook call, cleared when it is back', async () => {
    const receiver = await startWebhookReceiver({ statuses: [500] });
    cleanups.add(() => receiver.close());
    // The backend's clock runs ahead on demand: the offline threshold passes without waiting it out.
    let skewMs = 0;
    const backend = await startBackend({
      mode: 'in-process',
      cleanups,
      backend: {
        clock: { now: () => Date.now() + skewMs },
        httpOnlineWindowSeconds: 2,
        alerts: {
          thresholds: { offline: 60 },
          webhookUrl: receiver.url,
          webhookSecret: SECRET,
          evaluationIntervalMs: 100,
          webhook: { baseDelayMs: 50 },
        },
      },
    });
    const api = backend.admin;
    const registration = await provisionPanel(api, { panelId: 'panel-live', name: 'Harbour gate' });
    const links = await proxyBackendLinks(cleanups, backend);
    const stream = await openEventStream(endpointUrl(backend.url, endpoints.streamEvents, {}, {}), { token: backend.adminToken });
    cleanups.add(() => stream.close());
    const seen = <T extends LiveEvent['type']>(type: T, match: (event: Extract<LiveEvent, { type: T }>) => boolean) =>
      waitUntil(
        `a ${type} event`,
        () =>
          stream.events.find(
            (e): e is { id: string; event: Extract<LiveEvent, { type: T }> } => e.event.type === type && match(e.event as never),
          ),
        { timeoutMs: 30_000, detail: () => stream.events.map((e) => e.event.type).join(', ') },
      );

    const panel = await startPanel({ mode: 'in-process', cleanups, registration, apiBaseUrl: links.apiBaseUrl, mqttUrl: links.mqttUrl });
    await panel.waitUntil('live', () => panel.core.state.name === 'live', 30_000);

    // Its status report reaches the stream as a panel summary.
    await seen(
      'panel-summary',
      (e) => e.panel.id === 'panel-live' && e.panel.online && e.panel.state === 'live' && e.panel.firmwareVersion !== null,
    );

    // A command's ack reaches the stream as it is recorded.
    const command = await api.client.call('sendCommand', { params: { panelId: 'panel-live' }, body: { kind: 'reload' } });
    const ack = await seen('command-ack', (e) => e.ack.commandId === command.id);
    expect(ack.event.ack.panelId).toBe('panel-live');

    // Cut from the network: the broker loses it, the fleet view says offline at once…
    links.httpProxy.cut();
    links.mqttProxy.cut();
    await seen('panel-summary', (e) => e.panel.id === 'panel-live' && !e.panel.online);
    expect(stream.events.some((e) => e.event.type === 'alert-raised')).toBe(false);
    // …and once it has been offline for longer than the threshold, the alert and the webhook.
    skewMs += 61_000;
    const raised = await seen('alert-raised', (e) => e.alert.panelId === 'panel-live' && e.alert.kind === 'offline');
    await waitUntil('the webhook delivered', () => receiver.received.some((r) => r.answeredWith === 200), { timeoutMs: 10_000 });
    expect(receiver.received.map((r) => [r.payload.event, r.answeredWith])).toEqual([
      ['alert.raised', 500],
      ['alert.raised', 200],
    ]);
    expect(receiver.received[1]!.payload).toMatchObject({ alert: raised.event.alert, panelName: 'Harbour gate' });
    expect(signatureValid(receiver.received[1]!, SECRET)).toBe(true);
    expect((await api.client.call('listAlerts', {})).active).toEqual([raised.event.alert]);

    // Back on the network: online again, the alert cleared, the webhook told.
    links.httpProxy.restore();
    links.mqttProxy.restore();
    const cleared = await seen('alert-cleared', (e) => e.alert.id === raised.event.alert.id);
    expect(cleared.event.alert.clearedAt).not.toBeNull();
    await waitUntil('the clear delivered', () => receiver.received.some((r) => r.payload.event === 'alert.cleared'), { timeoutMs: 10_000 });
    expect((await api.client.call('listAlerts', {})).active).toEqual([]);
    expect((await api.client.call('getPanel', { params: { panelId: 'panel-live' } })).online).toBe(true);
  }, 120_000);
});
