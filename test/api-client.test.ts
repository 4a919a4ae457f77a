import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DisplayDocument } from '@airpanel/contract';
import {
  API_PREFIX,
  ApiCallError,
  ApiTransportError,
  createApiClient,
  createEndpointClient,
  createFetchTransport,
  endpoint,
  endpoints,
  named,
  serverRootOf,
  type ApiTransport,
  type ApiTransportRequest,
} from '@airpanel/contract/api';
import got from 'got';
import { gotTransport, panelApiClient, panelDisplayUrl, updateManifestUrl } from '@airpanel/panel/core/backend-api';
import { BackendAdminClient } from '@airpanel/panel/headless/simulator/admin-client';
import { Cleanups, startBackend, type InProcessBackend } from './harness/index.js';

// The typed client (contract/src/api/client.ts) against the real backend on 127.0.0.1 with
// SQLite: every answer below went over HTTP and was checked with the endpoint's schemas.

let backend: InProcessBackend;
const cleanups = new Cleanups();
const transport = createFetchTransport();

/** The real transport, remembering what it was asked to send (to see that nothing was). */
function recordingTransport(): ApiTransport & { sent: ApiTransportRequest[] } {
  const sent: ApiTransportRequest[] = [];
  return { sent, send: (request) => (sent.push(request), transport.send(request)) };
}

async function caught(promise: Promise<unknown>): Promise<ApiCallError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiCallError);
  return error as ApiCallError;
}

beforeAll(async () => {
  backend = await startBackend({ mode: 'in-process', cleanups, mqtt: { mode: 'none' }, adminToken: null, backend: { startLoops: false } });
});

afterAll(async () => {
  await cleanups.run();
});

const admin = () => createApiClient({ baseUrl: backend.url, credentials: { bearer: backend.adminToken }, transport });

describe('typed API client over real HTTP', () => {
  it('creates and reads resources with typed, validated answers', async () => {
    const sensor = await admin().call('createSensorSource', {
      body: { id: 'client-sim', name: 'Client sensor', spec: { kind: 'simulated' } },
    });
    expect(sensor.id).toBe('client-sim');
    const registration = await admin().call('createPanel', {
      body: { id: 'client-panel', name: 'Client panel', sensorSourceId: 'client-sim' },
    });
    expect(registration.panel.id).toBe('client-panel');
    expect(registration.endpoints.apiBaseUrl).toBe(`${backend.url}${API_PREFIX}`);

    // The panel's own client, from the versioned API root its registration hands out.
    const panel = createApiClient({ baseUrl: registration.endpoints.apiBaseUrl, credentials: { bearer: registration.apiKey }, transport });
    const summary = await panel.call('getPanel', { params: { panelId: 'client-panel' } });
    expect(summary.id).toBe('client-panel');
    expect(summary.sensorSourceId).toBe('client-sim');

    const reading = await admin().call('postReading', { params: { sensorId: 'client-sim' }, body: { values: { pm25: 12 } } });
    expect(reading.values.pm25).toBe(12);
    const readings = await admin().call('listReadings', { params: { sensorId: 'client-sim' }, query: { limit: 1 } });
    expect(readings).toHaveLength(1);
  });

  it('answers a conditional GET with 304 and no body while the revision is unchanged', async () => {
    const registration = await admin().call('createPanel', { body: { id: 'client-etag', name: 'ETag panel' } });
    const panel = createApiClient({ baseUrl: backend.url, credentials: { bearer: registration.apiKey }, transport });
    const first = await panel.send('getDisplay', { params: { panelId: 'client-etag' } });
    expect(first.status).toBe(200);
    if (first.status !== 200) return;
    expect(DisplayDocument.safeParse(first.body).success).toBe(true);
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"/);
    const second = await panel.send('getDisplay', { params: { panelId: 'client-etag' } }, { headers: { 'if-none-match': etag } });
    expect(second).toMatchObject({ status: 304, body: undefined });
  });

  it('refuses with the status, the operation and the server error body', async () => {
    await admin().call('createPanel', { body: { id: 'client-twice', name: 'Twice' } });
    const taken = await caught(admin().call('createPanel', { body: { id: 'client-twice', name: 'Twice' } }));
    expect(taken).toMatchObject({ kind: 'refused', operationId: 'createPanel', status: 409 });
    expect(taken.serverError?.code).toBe('already-exists');

    const missing = await caught(admin().call('getPanel', { params: { panelId: 'no-such-panel' } }));
    expect(missing).toMatchObject({ kind: 'refused', status: 404 });
    expect(missing.serverError?.code).toBe('not-found');

    const stranger = createApiClient({ baseUrl: backend.url, credentials: { bearer: 'x'.repeat(40) }, transport });
    const refused = await caught(stranger.call('listPanels'));
    expect(refused).toMatchObject({ kind: 'refused', status: 401 });
    expect(refused.serverError?.code).toBe('unauthorized');
  });

  it('does not send a body that breaks the contract', async () => {
    const recording = recordingTransport();
    const client = createApiClient({ baseUrl: backend.url, credentials: { bearer: backend.adminToken }, transport: recording });
    // @ts-expect-error: pm25 is a number in the contract
    const bad = await caught(client.call('postReading', { params: { sensorId: 'client-sim' }, body: { values: { pm25: 'lots' } } }));
    expect(bad.kind).toBe('invalid-request');
    expect(bad.message).toMatch(/values\.pm25/);
    const badId = await caught(client.call('getPanel', { params: { panelId: '../admin' } }));
    expect(badId.kind).toBe('invalid-request');
    expect(recording.sent).toHaveLength(0);
  });

  it('rejects an answer whose shape is not the declared one', async () => {
    // The real /healthz answer, read through a declaration that expects another shape.
    const table = {
      getHealth: endpoint({
        ...endpoints.getHealth,
        responses: {
          200: { description: 'expects a status the server never sends', schema: named('Down', z.object({ status: z.literal('down') })) },
        },
      }),
    };
    const client = createEndpointClient({ endpoints: table, baseUrl: backend.url, transport });
    const wrong = await caught(client.call('getHealth'));
    expect(wrong).toMatchObject({ kind: 'invalid-answer', operationId: 'getHealth', status: 200 });
    expect(wrong.message).toMatch(/status/);
    // The real declaration takes it.
    expect((await admin().call('getHealth')).status).toBe('ok');
  });

  it('uploads a PNG as bytes and reads it back as bytes', async () => {
    const registration = await admin().call('createPanel', { body: { id: 'client-shot', name: 'Screenshot panel' } });
    const panel = createApiClient({ baseUrl: backend.url, credentials: { bearer: registration.apiKey }, transport });
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...randomBytes(2048)]);
    const stored = await panel.send('uploadScreenshot', { params: { panelId: 'client-shot' }, body: png });
    expect(stored.status).toBe(204);
    const back = await admin().call('getScreenshot', { params: { panelId: 'client-shot' } }, { maxResponseBytes: 1_000_000 });
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back).equals(Buffer.from(png))).toBe(true);

    const oversized = await caught(
      panel.call('uploadScreenshot', {
        params: { panelId: 'client-shot' },
        body: new Uint8Array(endpoints.uploadScreenshot.binaryBody.maxBytes + 1),
      }),
    );
    expect(oversized.kind).toBe('invalid-request');
  });

  it('streams a large body (a release bundle) from an async iterable', async () => {
    const bundle = randomBytes(300_000);
    const sha512 = createHash('sha512').update(bundle).digest('base64');
    const name = `${createHash('sha512').update(bundle).digest('hex').slice(0, 64)}.tar.gz`;
    async function* chunks() {
      for (let at = 0; at < bundle.length; at += 64 * 1024) yield new Uint8Array(bundle.subarray(at, at + 64 * 1024));
    }
    const uploaded = await admin().call('uploadBundle', { params: { name }, body: chunks() }, { headers: { 'x-bundle-sha512': sha512 } });
    expect(uploaded).toMatchObject({ name, size: bundle.length, sha512 });
  });

  it('reads a text answer as text', async () => {
    const metrics = await admin().call('getMetrics');
    expect(typeof metrics).toBe('string');
    expect(metrics).toMatch(/^# (HELP|TYPE) /m);
  });

  it('stops reading an answer above the size cap, and names an unreachable server', async () => {
    // A small answer (sent whole before the client gives up on it): the backend's close()
    // waits for a socket whose large answer a client abandoned half-sent.
    const capped = await caught(admin().call('getHealth', undefined, { maxResponseBytes: 16 }));
    expect(capped).toMatchObject({ kind: 'transport', details: { transportFailure: 'too-large' } });

    const port = await closedPort();
    const nobody = createApiClient({ baseUrl: `http://127.0.0.1:${port}`, transport });
    const unreachable = await caught(nobody.call('getHealth'));
    expect(unreachable).toMatchObject({ kind: 'transport', details: { transportFailure: 'network' } });
    expect(unreachable.message).toContain(`127.0.0.1:${port}`);
  });

  it('builds every URL from the table, below a server root or the versioned API root', () => {
    const client = createApiClient({ baseUrl: `https://panels.example.org/airpanel${API_PREFIX}/`, transport });
    expect(client.baseUrl).toBe('https://panels.example.org/airpanel');
    expect(client.url('getCommand', { panelId: 'p 1', commandId: '0b7c3f1e-8a4e-4a55-9a3e-2c1d0e9f8a7b' })).toBe(
      `https://panels.example.org/airpanel${API_PREFIX}/panels/p%201/commands/0b7c3f1e-8a4e-4a55-9a3e-2c1d0e9f8a7b`,
    );
    expect(client.url('getHealth')).toBe('https://panels.example.org/airpanel/healthz');
    expect(serverRootOf('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(() => serverRootOf('panels.example.org')).toThrow(/is not a URL/);
    expect(() => serverRootOf('ftp://panels.example.org')).toThrow(/http\(s\) URL/);
    expect(new ApiTransportError('timeout', 'slow').code).toBe('timeout');
  });
});

describe("the panel's client over its own got (src-main/core/backend-api.ts)", () => {
  it('polls conditionally, uploads a screenshot, caps answers and names timeouts', async () => {
    const registration = await admin().call('createPanel', { body: { id: 'client-got', name: 'Got panel' } });
    const panel = panelApiClient({
      apiBaseUrl: registration.endpoints.apiBaseUrl,
      apiKey: registration.apiKey,
      http: got,
      timeoutMs: 5_000,
    });
    const first = await panel.send('getDisplay', { params: { panelId: 'client-got' } });
    expect(first.status).toBe(200);
    const again = await panel.send(
      'getDisplay',
      { params: { panelId: 'client-got' } },
      { headers: { 'if-none-match': first.headers.etag! } },
    );
    expect(again.status).toBe(304);

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...randomBytes(512)]);
    expect((await panel.send('uploadScreenshot', { params: { panelId: 'client-got' }, body: png })).status).toBe(204);
    expect(Buffer.from(await admin().call('getScreenshot', { params: { panelId: 'client-got' } })).equals(Buffer.from(png))).toBe(true);

    // sendRaw: the document's bytes as sent, for the panel's document gate to judge.
    const raw = await panel.sendRaw('getDisplay', { params: { panelId: 'client-got' } });
    expect(raw.status).toBe(200);
    expect(DisplayDocument.parse(JSON.parse(Buffer.from(raw.body).toString('utf8')))).toEqual(first.body);
    const rawMissing = await caught(panel.sendRaw('getDisplay', { params: { panelId: 'client-nobody' } }));
    expect(rawMissing).toMatchObject({ kind: 'refused', status: 403 });

    const capped = await caught(panel.call('getDisplay', { params: { panelId: 'client-got' } }, { maxResponseBytes: 64 }));
    expect(capped).toMatchObject({ kind: 'transport', details: { transportFailure: 'too-large' } });
    const refused = await caught(panel.call('getPanel', { params: { panelId: 'client-panel' } }));
    expect(refused).toMatchObject({ kind: 'refused', status: 403 });

    // A server that holds the request: the deadline ends it.
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const slow = createApiClient({ baseUrl: `http://127.0.0.1:${port}`, transport: gotTransport(got), timeoutMs: 300 });
      const timedOut = await caught(slow.call('getHealth'));
      expect(timedOut).toMatchObject({ kind: 'transport', details: { transportFailure: 'timeout' } });
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('builds the URLs the panel fetches itself from the same table', () => {
    expect(panelDisplayUrl('http://h:1', 'panel-001')).toBe(`http://h:1${API_PREFIX}/panels/panel-001/display`);
    expect(updateManifestUrl(`http://h:1${API_PREFIX}/`, 'beta')).toBe(`http://h:1${API_PREFIX}/update/channels/beta/manifest`);
  });
});

describe("the simulator's admin client (src-main/headless/simulator/admin-client.ts)", () => {
  it('posts readings and commands, and says in one line what the backend refused or that it is unreachable', async () => {
    await admin().call('createSensorSource', { body: { id: 'sim-source', name: 'Simulator source', spec: { kind: 'simulated' } } });
    await admin().call('createPanel', { body: { id: 'sim-panel', name: 'Simulator panel', sensorSourceId: 'sim-source' } });
    const simulator = new BackendAdminClient({
      apiBaseUrl: backend.url,
      adminToken: backend.adminToken,
      panelId: 'sim-panel',
      sensorSourceId: 'sim-source',
    });
    await simulator.setReading({ pm25: 41 });
    expect((await admin().call('listReadings', { params: { sensorId: 'sim-source' }, query: { limit: 1 } }))[0]?.values.pm25).toBe(41);
    const commandId = await simulator.sendCommand('reload');
    expect(await simulator.commandAcks(commandId)).toEqual([]);
    const unknownSource = new BackendAdminClient({
      apiBaseUrl: backend.url,
      adminToken: backend.adminToken,
      panelId: 'sim-panel',
      sensorSourceId: 'no-such-source',
    });
    await expect(unknownSource.setReading({ pm25: 1 })).rejects.toThrow(/^backend refused postReading: not-found: /);
    const nowhere = new BackendAdminClient({
      apiBaseUrl: `http://127.0.0.1:${await closedPort()}`,
      adminToken: 't'.repeat(40),
      panelId: 'sim-panel',
      sensorSourceId: 'sim-source',
    });
    await expect(nowhere.setReading({ pm25: 1 })).rejects.toThrow(/^backend unreachable at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });
});

/** A port nobody listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
