import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_THRESHOLDS, type AlertSettingsBody } from '@airpanel/contract';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import { openEventStream } from '../events/sse-client.test-support.js';
import { useTestBackend } from '../test-support.js';
import { signatureValid, startWebhookReceiver } from './webhook-receiver.test-support.js';

const SECRET = 'webhook-secret-0123456789';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('alerts: a panel offline past its threshold raises an alert and a webhook call, cleared when it is back', () => {
  let nowMs = Date.parse('2026-12-02T12:00:00.000Z');
  const clock = { now: () => nowMs };
  const advance = (seconds: number) => void (nowMs += seconds * 1000);
  const fixture = useTestBackend({ clock, alerts: { webhook: { baseDelayMs: 20, maxDelayMs: 100 } } });

  it('raises after the threshold (webhook retried after a 500, signed), lists it, streams it, clears it, keeps it across a restart', async () => {
    const backend = await fixture.start();
    const { api } = fixture;
    const receiver = await startWebhookReceiver({ statuses: [500] });
    closers.push(receiver.close);
    const settings: AlertSettingsBody = {
      thresholds: { ...DEFAULT_ALERT_THRESHOLDS, offline: 60 },
      webhook: { url: receiver.url, secret: SECRET },
    };
    expect((await api('replaceAlertSettings', { body: settings, token: backend.adminToken })).json).toEqual({
      thresholds: settings.thresholds,
      webhook: { url: receiver.url, hasSecret: true },
    });
    const registration = await api.admin.call('createPanel', { body: { id: 'panel-off', name: 'Station road' } });
    const poll = async () => {
      const answer = await api('getDisplay', { params: { panelId: 'panel-off' }, token: registration.apiKey });
      expect(answer.status).toBe(200);
    };
    const stream = await openEventStream(endpointUrl(backend.url, endpoints.streamEvents, {}, {}), { token: backend.adminToken });
    closers.push(() => stream.close());

    // A panel never seen is not offline; once it polled it is online (HTTP polls count).
    backend.evaluateAlerts();
    await poll();
    backend.evaluateAlerts();
    expect((await api.admin.call('listAlerts', {})).active).toEqual([]);

    // No poll for 15 minutes: offline (the HTTP window); last seen 15 minutes ago is past 60 s.
    advance(15 * 60 + 1);
    backend.evaluateAlerts();
    const { active } = await api.admin.call('listAlerts', {});
    expect(active).toHaveLength(1);
    const alert = active[0]!;
    expect(alert).toMatchObject({ panelId: 'panel-off', kind: 'offline', since: '2026-12-02T12:00:00.000Z', clearedAt: null });
    expect(alert.raisedAt).toBe(new Date(nowMs).toISOString());
    expect(alert.detail).toContain('last seen 2026-12-02T12:00:00.000Z');
    // Evaluating again raises nothing new.
    backend.evaluateAlerts();
    await backend.alerts.webhook.idle();
    expect(receiver.received.map((r) => [r.payload.event, r.answeredWith])).toEqual([
      ['alert.raised', 500],
      ['alert.raised', 200],
    ]);
    for (const request of receiver.received) {
      expect(signatureValid(request, SECRET)).toBe(true);
      expect(request.payload).toMatchObject({ alert, panelName: 'Station road' });
    }

    // Back: the next poll makes it online, the next evaluation clears the alert.
    advance(30);
    await poll();
    backend.evaluateAlerts();
    const afterClear = await api.admin.call('listAlerts', {});
    expect(afterClear.active).toEqual([]);
    expect(afterClear.recent).toEqual([
      { ...alert, clearedAt: new Date(nowMs).toISOString(), detail: expect.stringContaining('ended: online') },
    ]);
    await backend.alerts.webhook.idle();
    expect(receiver.received.at(-1)!.payload).toMatchObject({
      event: 'alert.cleared',
      alert: { id: alert.id, clearedAt: expect.any(String) },
    });

    const types = stream.events.map((e) => e.event.type);
    expect(types).toContain('alert-raised');
    expect(types).toContain('alert-cleared');
    expect(types.indexOf('alert-raised')).toBeLessThan(types.indexOf('alert-cleared'));
    // Its registration was streamed before the stream opened; then: polling, gone quiet, back.
    const onlineFlags = stream.events.flatMap((e) =>
      e.event.type === 'panel-summary' && e.event.panel.id === 'panel-off' ? [e.event.panel.online] : [],
    );
    expect(onlineFlags).toEqual([true, false, true]);

    // Offline again, past the threshold, then a restart: the active alert is still the same one.
    advance(15 * 60 + 1);
    backend.evaluateAlerts();
    const second = (await api.admin.call('listAlerts', {})).active;
    expect(second).toHaveLength(1);
    await stream.close();
    const restarted = await fixture.restart();
    restarted.evaluateAlerts();
    expect((await fixture.api.admin.call('listAlerts', {})).active).toEqual(second);
    expect((await fixture.api.admin.call('getAlertSettings')).webhook).toEqual({ url: receiver.url, hasSecret: true });
  });
});

describe('alert settings: validated with the contract, the secret never read back', () => {
  const fixture = useTestBackend({ alerts: { thresholds: { offline: 120 } } }, { per: 'suite' });

  it('answers the defaults until an admin saves settings', async () => {
    const backend = await fixture.start();
    expect((await fixture.api('getAlertSettings', { token: backend.adminToken })).json).toEqual({
      thresholds: { ...DEFAULT_ALERT_THRESHOLDS, offline: 120 },
      webhook: { url: null, hasSecret: false },
    });
  });

  it.each([
    ['a threshold under 10 s', { thresholds: { ...DEFAULT_ALERT_THRESHOLDS, offline: 5 }, webhook: { url: null } }, 'thresholds.offline'],
    ['a fractional threshold', { thresholds: { ...DEFAULT_ALERT_THRESHOLDS, stale: 30.5 }, webhook: { url: null } }, 'thresholds.stale'],
    ['a missing kind', { thresholds: { offline: 60, stale: 60, maintenance: 60 }, webhook: { url: null } }, 'thresholds.lagging'],
    ['an unknown kind', { thresholds: { ...DEFAULT_ALERT_THRESHOLDS, flooded: 60 }, webhook: { url: null } }, 'thresholds'],
    ['a non-http URL', { thresholds: DEFAULT_ALERT_THRESHOLDS, webhook: { url: 'ftp://example.org/hook' } }, 'webhook.url'],
    ['a URL with a password', { thresholds: DEFAULT_ALERT_THRESHOLDS, webhook: { url: 'https://u:p@example.org/hook' } }, 'webhook.url'],
    [
      'a short secret',
      { thresholds: DEFAULT_ALERT_THRESHOLDS, webhook: { url: 'https://example.org/hook', secret: 'short' } },
      'webhook.secret',
    ],
    ['no webhook', { thresholds: DEFAULT_ALERT_THRESHOLDS }, 'webhook'],
  ])('refuses %s with 400 naming the field', async (_name, body, field) => {
    const { backend, api } = fixture;
    const answer = await api('replaceAlertSettings', { rawBody: JSON.stringify(body), token: backend.adminToken });
    expect(answer.status).toBe(400);
    const { error } = answer.json as { error: { code: string; details: { issues: { path: string }[] } } };
    expect(error.code).toBe('invalid-request');
    expect(error.details.issues.map((issue) => issue.path)).toContain(`body.${field}`);
    // Nothing was changed.
    expect((await api.admin.call('getAlertSettings')).thresholds.offline).toBe(120);
  });

  it('keeps the secret when the body leaves it out, removes it with null', async () => {
    const { api } = fixture;
    const url = 'https://hooks.example.org/airpanel';
    const thresholds = { ...DEFAULT_ALERT_THRESHOLDS, lagging: 45 };
    await api.admin.call('replaceAlertSettings', { body: { thresholds, webhook: { url, secret: SECRET } } });
    const kept = await api.admin.call('replaceAlertSettings', { body: { thresholds, webhook: { url } } });
    expect(kept).toEqual({ thresholds, webhook: { url, hasSecret: true } });
    expect(JSON.stringify(await api.admin.call('getAlertSettings'))).not.toContain(SECRET);
    expect(await api.admin.call('replaceAlertSettings', { body: { thresholds, webhook: { url, secret: null } } })).toEqual({
      thresholds,
      webhook: { url, hasSecret: false },
    });
  });
});
