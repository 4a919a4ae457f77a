import { describe, expect, it } from 'vitest';
import type { PanelSummary } from '@airpanel/contract';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import type { Backend } from '../backend.js';
import { useTestBackend } from '../test-support.js';
import type { StreamEnd } from './event-stream.js';
import { openEventStream } from './sse-client.test-support.js';

async function waitFor<T>(what: string, check: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const eventsUrl = (backend: Backend) => endpointUrl(backend.url, endpoints.streamEvents, {}, {});

function summary(id: string, name: string): PanelSummary {
  return {
    id,
    name,
    location: null,
    sensorSourceId: null,
    contentSetId: 'default-en',
    levelSchemeId: 'eaqi-3',
    createdAt: '2026-12-02T17:00:00.000Z',
    online: true,
    lastSeenAt: '2026-12-02T17:00:00.000Z',
    state: 'live',
    firmwareVersion: '1.0.0',
    currentRevision: 3,
    displayedRevision: 3,
    lagging: false,
    lastError: null,
    ownSensor: null,
    lastStart: null,
  };
}

describe('GET /api/v1/events (server-sent events)', () => {
  const fixture = useTestBackend({ liveEvents: { heartbeatMs: 100, maxBufferedBytes: 64 * 1024 } });

  it('refuses a request without credentials, then streams events with ids, heartbeats while quiet', async () => {
    const backend = await fixture.start();
    const anonymous = await openEventStream(eventsUrl(backend));
    await anonymous.closed;
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ error: { code: 'unauthorized' } });

    const reader = await openEventStream(eventsUrl(backend), { token: backend.adminToken });
    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(reader.headers['cache-control']).toBe('no-store');
    backend.liveEvents.bus.publish({ type: 'panel-summary', panel: summary('panel-a', 'A') });
    backend.liveEvents.bus.publish({ type: 'resync', reason: 'test' });
    await waitFor('two events', () => reader.events.length >= 2);
    expect(reader.events.map((e) => e.event.type)).toEqual(['panel-summary', 'resync']);
    expect(reader.events[0]!.id).toMatch(/^[0-9a-z]+-1$/);
    await waitFor('a heartbeat', () => reader.comments.includes('keep-alive'));
    // A change through the API is audited, and the audit entry is streamed.
    const thresholds = { offline: 120, stale: 900, maintenance: 1800, lagging: 600 };
    await fixture.api.admin.call('replaceAlertSettings', { body: { thresholds, webhook: { url: null } } });
    const audited = await waitFor('an audit entry', () => reader.events.find((e) => e.event.type === 'audit-appended'));
    expect(audited.event).toMatchObject({ type: 'audit-appended', entry: { action: 'replaceAlertSettings' } });
    await reader.close();
    await waitFor('the stream to be forgotten', () => backend.liveEvents.streams.openCount === 0);
  });

  it('streams a panel registered or edited through the API at once, without waiting for the full read of the fleet', async () => {
    const backend = await fixture.start({ alerts: { fleetRefreshMs: 3_600_000 } });
    const reader = await openEventStream(eventsUrl(backend), { token: backend.adminToken });
    await fixture.api.admin.call('createPanel', { body: { id: 'panel-edit', name: 'Before' } });
    await fixture.api.admin.call('updatePanel', { params: { panelId: 'panel-edit' }, body: { name: 'After' } });
    const names = () =>
      reader.events.flatMap((e) => (e.event.type === 'panel-summary' && e.event.panel.id === 'panel-edit' ? [e.event.panel.name] : []));
    await waitFor('both summaries', () => names().length >= 2);
    expect(names()).toEqual(['Before', 'After']);
    await reader.close();
  });

  it('sends the missed events after Last-Event-ID, or resync when they are not held', async () => {
    const backend = await fixture.start({ liveEvents: { replayLength: 3 } });
    for (const name of ['A', 'B', 'C', 'D']) backend.liveEvents.bus.publish({ type: 'panel-summary', panel: summary('panel-a', name) });
    const latest = backend.liveEvents.bus.latestId;
    const seq = Number(latest.split('-')[1]);
    const boot = latest.split('-')[0];

    const resumed = await openEventStream(eventsUrl(backend), { token: backend.adminToken, lastEventId: `${boot}-${seq - 2}` });
    await waitFor('the replay', () => resumed.events.length >= 2);
    expect(resumed.events.map((e) => (e.event.type === 'panel-summary' ? e.event.panel.name : e.event.type))).toEqual(['C', 'D']);

    const tooOld = await openEventStream(eventsUrl(backend), { token: backend.adminToken, lastEventId: `${boot}-0` });
    const otherProcess = await openEventStream(eventsUrl(backend), { token: backend.adminToken, lastEventId: `zz-${seq}` });
    await waitFor('the resyncs', () => tooOld.events.length >= 1 && otherProcess.events.length >= 1);
    for (const reader of [tooOld, otherProcess]) {
      expect(reader.events[0]!.event.type).toBe('resync');
      expect(reader.events[0]!.id).toBe(latest);
    }
    backend.liveEvents.bus.publish({ type: 'panel-summary', panel: summary('panel-a', 'E') });
    await waitFor('the next event on every stream', () =>
      [resumed, tooOld, otherProcess].every((r) => r.events.at(-1)?.event.type === 'panel-summary'),
    );
    await Promise.all([resumed, tooOld, otherProcess].map((r) => r.close()));
  });

  it('drops a client that stops reading once its buffer passes the cap, and keeps serving the others', async () => {
    const backend = await fixture.start();
    const ends: StreamEnd[] = [];
    backend.liveEvents.streams.onStreamEnd = (why) => ends.push(why);
    const stuck = await openEventStream(eventsUrl(backend), { token: backend.adminToken });
    const reading = await openEventStream(eventsUrl(backend), { token: backend.adminToken });
    stuck.stopReading();
    // 8 KiB per event, 32 KiB per batch (half the cap) with a pause a reader keeps up with; the
    // kernel's socket buffers take a few megabytes before the cap counts.
    let published = 0;
    const bulky = { ...summary('panel-bulky', 'Bulky'), lastError: 'e'.repeat(8 * 1024) };
    while (!ends.includes('too-slow') && published < 20_000) {
      for (let i = 0; i < 4; i++, published++) backend.liveEvents.bus.publish({ type: 'panel-summary', panel: bulky });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(ends).toEqual(['too-slow']);
    // What it had not read is still in its socket: reading again, it finds the stream cut.
    stuck.resumeReading();
    await stuck.closed;
    expect(stuck.ended).toBe(true);
    expect(backend.liveEvents.streams.openCount).toBe(1);
    await waitFor('the reading client to get everything', () => reading.events.length === published, 30_000);
    await reading.close();
  });

  it('closes open streams when the backend stops, and refuses streams beyond the cap with 503', async () => {
    const backend = await fixture.start({ liveEvents: { maxStreams: 1 } });
    const reader = await openEventStream(eventsUrl(backend), { token: backend.adminToken });
    const refused = await openEventStream(eventsUrl(backend), { token: backend.adminToken });
    await refused.closed;
    expect(refused.status).toBe(503);
    const started = Date.now();
    await fixture.stop();
    await reader.closed;
    expect(reader.ended).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
