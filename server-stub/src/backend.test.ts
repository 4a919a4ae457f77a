import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError, CommandRecord, DisplayDocument, PanelRegistration, PanelSummary, displayETag } from '@airpanel/contract';
import { API_PREFIX, apiPath } from '@airpanel/contract/api';
import { useTestBackend, type BackendTestApi, type RequestInput, type TestAnswer } from './test-support.js';

describe('backend over real HTTP and SQLite', () => {
  const server = useTestBackend();

  async function start(): Promise<{ api: BackendTestApi; admin: string }> {
    const backend = await server.start();
    return { api: server.api, admin: backend.adminToken };
  }

  async function createPanel(
    api: BackendTestApi,
    admin: string,
    body: NonNullable<RequestInput<'createPanel'>['body']>,
  ): Promise<PanelRegistration> {
    const answer = await api('createPanel', { token: admin, body });
    expect(answer.status, answer.text).toBe(201);
    return PanelRegistration.parse(answer.json);
  }

  it('generates the admin token at first start, readable by its owner only', async () => {
    await start();
    expect(server.backend.adminTokenFile).toBe(path.join(server.dir, 'admin-token'));
    expect(statSync(server.backend.adminTokenFile!).mode & 0o777).toBe(0o600);
    expect(server.backend.adminToken.length).toBeGreaterThanOrEqual(32);
  });

  it('changes level and ETag when a reading crosses a breakpoint, and answers 304 for the current tag', async () => {
    const { api, admin } = await start();
    expect(
      (await api('createSensorSource', { token: admin, body: { id: 'sim-1', name: 'Street sensor', spec: { kind: 'simulated' } } })).status,
    ).toBe(201);
    const registration = await createPanel(api, admin, { id: 'panel-1', name: 'Main street', sensorSourceId: 'sim-1' });
    expect(registration.endpoints.apiBaseUrl).toBe(`${server.backend.url}${API_PREFIX}`);
    expect(registration.endpoints.mqttUrl).toBeNull();
    expect(registration.endpoints.topics.display).toBe('airpanel/v1/panels/panel-1/display');
    const key = registration.apiKey;
    const panel1 = { params: { panelId: 'panel-1' } };

    const first = await api('getDisplay', { ...panel1, token: key });
    expect(first.status).toBe(200);
    const firstDoc = DisplayDocument.parse(first.json);
    expect(firstDoc.readings).toBeNull();
    expect(first.headers.get('etag')).toBe(displayETag(firstDoc));

    const notModified = await api('getDisplay', {
      ...panel1,
      token: key,
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');

    const t0 = Date.parse('2026-01-01T08:00:00Z');
    const post = async (pm25: number, at: number) => {
      const answer = await api('postReading', {
        params: { sensorId: 'sim-1' },
        token: admin,
        body: { values: { pm25 }, measuredAt: new Date(at).toISOString() },
      });
      expect(answer.status, answer.text).toBe(201);
    };
    await post(10, t0);
    const good = DisplayDocument.parse((await api('getDisplay', { ...panel1, token: key })).json);
    expect(good.level.id).toBe('good');
    expect(good.readings?.values.pm25).toBe(10);
    expect(good.revision).toBeGreaterThan(firstDoc.revision);

    // 30 µg/m³ is past the PM2.5 breakpoint 20 by more than the 10 % margin: moderate at once.
    await post(30, t0 + 60_000);
    const moderate = await api('getDisplay', { ...panel1, token: key, headers: { 'if-none-match': displayETag(good) } });
    expect(moderate.status).toBe(200);
    const moderateDoc = DisplayDocument.parse(moderate.json);
    expect(moderateDoc.level.id).toBe('moderate');
    expect(moderateDoc.content.headline).toBe('Air quality is moderate');
    expect(moderateDoc.readings?.dominant).toBe('pm25');
    expect(moderate.headers.get('etag')).not.toBe(displayETag(good));
    expect(Date.parse(moderateDoc.validUntil)).toBeGreaterThan(Date.parse(moderateDoc.issuedAt));

    // 19 is inside the margin band below 20: the level holds until the dwell (600 s) passes.
    await post(19, t0 + 120_000);
    expect(DisplayDocument.parse((await api('getDisplay', { ...panel1, token: key })).json).level.id).toBe('moderate');
    await post(19, t0 + 120_000 + 601_000);
    expect(DisplayDocument.parse((await api('getDisplay', { ...panel1, token: key })).json).level.id).toBe('good');

    // The display route answers from memory: neither 304 nor 200 touches the database.
    const queriesBefore = server.backend.store.queryCount;
    const current = (await api('getDisplay', { ...panel1, token: key })).headers.get('etag')!;
    for (let i = 0; i < 5; i++) {
      expect((await api('getDisplay', { ...panel1, token: key, headers: { 'if-none-match': current } })).status).toBe(304);
    }
    expect(server.backend.store.queryCount).toBe(queriesBefore);

    // The admin may read any panel's document too.
    expect((await api('getDisplay', { ...panel1, token: admin })).status).toBe(200);
  });

  it('re-issues documents at once when content, scheme or assignment changes', async () => {
    const { api, admin } = await start();
    await createPanel(api, admin, { id: 'panel-2', name: 'Square' });
    const panel2 = { params: { panelId: 'panel-2' } };
    const get = async () => DisplayDocument.parse((await api('getDisplay', { ...panel2, token: admin })).json);
    const before = await get();

    const defaultEn = { params: { contentSetId: 'default-en' } };
    const content = await api.admin.call('getContentSet', defaultEn);
    content.byLevel.good!.headline = 'Clean air today';
    const { id: _id, ...contentBody } = content;
    expect((await api('replaceContentSet', { ...defaultEn, token: admin, body: contentBody })).status).toBe(200);
    const afterContent = await get();
    expect(afterContent.content.headline).toBe('Clean air today');
    expect(afterContent.revision).toBeGreaterThan(before.revision);

    // A scheme whose level ids the content set lacks: generated content shows the label.
    const scheme = {
      id: 'two-level',
      name: 'Two levels',
      levels: [
        { id: 'fine', label: 'Fine' },
        { id: 'poor', label: 'Poor' },
      ],
      breakpoints: { pm10: [50] },
      hysteresis: { marginFraction: 0, minDwellSeconds: 0 },
    };
    expect((await api('createLevelScheme', { token: admin, body: scheme })).status).toBe(201);
    const patched = await api('updatePanel', { ...panel2, token: admin, body: { levelSchemeId: 'two-level' } });
    expect(patched.status).toBe(200);
    expect(PanelSummary.parse(patched.json).levelSchemeId).toBe('two-level');
    const afterScheme = await get();
    expect(afterScheme.level).toEqual({ id: 'fine', label: 'Fine', index: 0, of: 2 });
    expect(afterScheme.content.headline).toBe('Fine');
    expect(afterScheme.revision).toBeGreaterThan(afterContent.revision);

    // An edit that changes nothing the panel shows issues no new revision.
    expect((await api('updatePanel', { ...panel2, token: admin, body: { name: 'Square (north)' } })).status).toBe(200);
    expect((await get()).revision).toBe(afterScheme.revision);

    // In use: the scheme cannot be deleted; once unassigned it can.
    const twoLevel = { params: { levelSchemeId: 'two-level' } };
    const inUse = await api('deleteLevelScheme', { ...twoLevel, token: admin });
    expect(inUse.status).toBe(409);
    expect(ApiError.parse(inUse.json).error.code).toBe('in-use');
    await api('updatePanel', { ...panel2, token: admin, body: { levelSchemeId: 'eaqi-3' } });
    expect((await api('deleteLevelScheme', { ...twoLevel, token: admin })).status).toBe(204);
  });

  it('answers auth, validation and conflict errors with an ApiError body that says what is wrong', async () => {
    const { api, admin } = await start();
    const a = await createPanel(api, admin, { id: 'panel-a', name: 'A' });
    await createPanel(api, admin, { id: 'panel-b', name: 'B' });

    const expectError = async (answer: Promise<TestAnswer>, status: number, code?: string) => {
      const result = await answer;
      expect(result.status, result.text).toBe(status);
      const body = ApiError.parse(result.json);
      expect(body.error.message.length).toBeGreaterThan(5);
      if (code) expect(body.error.code).toBe(code);
      return body;
    };

    const panelA = { params: { panelId: 'panel-a' } };
    await expectError(api('getDisplay', panelA), 401, 'unauthorized');
    await expectError(api('listPanels', { token: 'not-a-real-token-at-all' }), 401, 'unauthorized');
    await expectError(api('getDisplay', { params: { panelId: 'panel-b' }, token: a.apiKey }), 403, 'forbidden');
    await expectError(api('listPanels', { token: a.apiKey }), 403, 'forbidden');
    await expectError(api('sendCommand', { ...panelA, token: a.apiKey, body: { kind: 'reload' } }), 403);
    expect((await api('getPanel', { ...panelA, token: a.apiKey })).status).toBe(200);

    await expectError(api('getDisplay', { params: { panelId: 'no-such-panel' }, token: admin }), 404, 'not-found');
    await expectError(api('getSensorSource', { params: { sensorId: 'no-such-sensor' }, token: admin }), 404, 'not-found');
    await expectError(api({ method: 'GET', path: apiPath('/nothing-here') }, { token: admin }), 404, 'no-route');
    await expectError(api('getCommand', { params: { panelId: 'panel-a', commandId: crypto.randomUUID() }, token: admin }), 404);

    await expectError(api('createPanel', { token: admin, rawBody: '{"name": "broken' }), 400, 'malformed-json');
    const invalid = await expectError(api('createPanel', { token: admin, body: { name: '' } }), 400, 'invalid-request');
    expect(invalid.error.message).toContain('body.name');
    await expectError(api('createPanel', { token: admin }), 400);
    await expectError(api('getPanel', { params: { panelId: 'UPPER_case' }, token: admin }), 400, 'invalid-request');
    await expectError(api('listCommands', { ...panelA, query: { limit: 0 }, token: admin }), 400);
    await expectError(
      api('createPanel', { token: admin, body: { name: 'x', sensorSourceId: 'missing-source' } }),
      400,
      'unknown-reference',
    );
    await expectError(
      api('createPanel', { token: admin, rawBody: JSON.stringify({ name: 'x'.repeat(300 * 1024) }) }),
      413,
      'payload-too-large',
    );

    await expectError(api('createPanel', { token: admin, body: { id: 'panel-a', name: 'Again' } }), 409, 'already-exists');
    await expectError(api('deleteContentSet', { params: { contentSetId: 'default-en' }, token: admin }), 409, 'default-resource');
    await api('createSensorSource', {
      token: admin,
      body: { id: 'vendor-1', name: 'Vendor', spec: { kind: 'http-json', url: 'http://127.0.0.1:9/x', fieldMap: { pm25: 'pm25' } } },
    });
    await expectError(
      api('postReading', { params: { sensorId: 'vendor-1' }, token: admin, body: { values: { pm25: 1 } } }),
      409,
      'not-simulated',
    );
    await api('createSensorSource', { token: admin, body: { id: 'sim-e', name: 'Sim', spec: { kind: 'simulated' } } });
    const simE = { params: { sensorId: 'sim-e' } };
    await expectError(
      api('postReading', { ...simE, token: admin, body: { values: { pm25: 1 }, measuredAt: '2999-01-01T00:00:00Z' } }),
      400,
      'reading-in-future',
    );
    await expectError(api('postReading', { ...simE, token: admin, body: { values: { pm25: -1 } } }), 400, 'invalid-request');

    // A deleted panel's key stops working at once.
    expect((await api('deletePanel', { ...panelA, token: admin })).status).toBe(204);
    await expectError(api('getDisplay', { ...panelA, token: a.apiKey }), 401);
  });

  it('stores the screenshot a panel uploads and serves it to the admin', async () => {
    const { api, admin } = await start();
    const a = await createPanel(api, admin, { id: 'panel-shot', name: 'Shot' });
    const b = await createPanel(api, admin, { id: 'panel-other', name: 'Other' });
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('IHDR and pixels')]);
    const shot = { params: { panelId: 'panel-shot' } };
    const put = (token: string, body: Buffer | string, contentType = 'image/png') =>
      api('uploadScreenshot', {
        ...shot,
        token,
        rawBody: typeof body === 'string' ? body : new Uint8Array(body),
        headers: { 'content-type': contentType },
      });

    expect((await api('getScreenshot', { ...shot, token: admin })).status).toBe(404);
    expect((await put(b.apiKey, png)).status).toBe(403);
    expect((await put(a.apiKey, 'not a png at all')).status).toBe(400);
    expect((await put(a.apiKey, '{}', 'application/json')).status).toBe(415);
    expect((await put(a.apiKey, png)).status).toBe(204);

    const got = await api('getScreenshot', { ...shot, token: admin });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(got.bytes).equals(png)).toBe(true);
    // Only the admin reads screenshots back.
    expect((await api('getScreenshot', { ...shot, token: a.apiKey })).status).toBe(403);
  });

  it('keeps everything across a restart, and revisions keep growing', async () => {
    const { api, admin } = await start();
    await api('createSensorSource', { token: admin, body: { id: 'sim-r', name: 'Sim', spec: { kind: 'simulated' } } });
    const simR = { params: { sensorId: 'sim-r' } };
    const panelR = { params: { panelId: 'panel-r' } };
    const reg = await createPanel(api, admin, {
      id: 'panel-r',
      name: 'Restart',
      sensorSourceId: 'sim-r',
      location: { description: 'Corner' },
    });
    await api('postReading', { ...simR, token: admin, body: { values: { no2: 250 } } });
    const command = await api('sendCommand', { ...panelR, token: admin, body: { kind: 'reload' } });
    expect(command.status).toBe(201);
    const commandId = CommandRecord.parse(command.json).id;
    const before = DisplayDocument.parse((await api('getDisplay', { ...panelR, token: reg.apiKey })).json);
    expect(before.level.id).toBe('bad');
    const adminToken = server.backend.adminToken;

    const backend = await server.restart();
    const again = server.api;
    expect(backend.adminToken).toBe(adminToken);
    const afterRestart = await again('getDisplay', {
      ...panelR,
      token: reg.apiKey,
      headers: { 'if-none-match': displayETag(before) },
    });
    expect(afterRestart.status).toBe(304);
    const panel = PanelSummary.parse((await again('getPanel', { ...panelR, token: admin })).json);
    expect(panel.location).toEqual({ description: 'Corner' });
    expect(panel.currentRevision).toBe(before.revision);
    expect(CommandRecord.parse((await again('getCommand', { params: { panelId: 'panel-r', commandId }, token: admin })).json).kind).toBe(
      'reload',
    );
    expect((await again('listReadings', { ...simR, token: admin })).json).toHaveLength(1);

    // A new panel after the restart gets a revision above every earlier one.
    await createPanel(again, admin, { id: 'panel-s', name: 'After restart' });
    const fresh = DisplayDocument.parse((await again('getDisplay', { params: { panelId: 'panel-s' }, token: admin })).json);
    expect(fresh.revision).toBeGreaterThan(before.revision);
    await again('postReading', { ...simR, token: admin, body: { values: { no2: 10 } } });
    const later = DisplayDocument.parse((await again('getDisplay', { ...panelR, token: admin })).json);
    expect(later.level.id).toBe('good');
    expect(later.revision).toBeGreaterThan(fresh.revision);
  });

  it('lists the fleet with status fields and reports health and metrics', async () => {
    const { api, admin } = await start();
    const reg = await createPanel(api, admin, { name: 'Generated id' });
    expect(reg.panel.id).toMatch(/^panel-/);
    await api('getDisplay', { params: { panelId: reg.panel.id }, token: reg.apiKey });
    const list = (await api('listPanels', { token: admin })).json as unknown[];
    const summary = PanelSummary.parse(list[0]);
    // It polled over HTTP just now: online, though it never spoke MQTT.
    expect(summary.online).toBe(true);
    expect(summary.lastSeenAt).not.toBeNull();
    expect(summary.lagging).toBe(false);

    const health = await api('getHealth');
    expect(health.json).toMatchObject({ status: 'ok', panels: 1 });
    const metrics = await api('getMetrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('airpanel_http_requests_total');
    expect(metrics.text).toContain('airpanel_mqtt_connected_panels 0');
    expect(metrics.text).toContain('airpanel_display_documents_issued_total 1');

    // The release feed is served by the same server, with the same admin token.
    expect((await api('listReleases', { token: admin })).status).toBe(200);
    expect((await api('listReleases')).status).toBe(401);
    expect(ApiError.parse((await api('getChannelManifest', { params: { channel: 'stable' } })).json).error.code).toBe('no-release');
  });
});
