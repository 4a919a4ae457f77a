import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '@airpanel/contract';
import { endpoints } from '@airpanel/contract/api';
import { addTestUser, login, type TestSession } from '../accounts/test-support.js';
import type { Backend } from '../backend.js';
import { makeTempDir, startTestBackend, testApi } from '../test-support.js';

const PATH_TEMPLATES = [
  '/api/v1/panels',
  '/api/v1/panels/{id}',
  '/api/v1/panels/{id}/display',
  '/api/v1/panels/{id}/api-key',
  '/api/v1/panels/{id}/commands',
  '/api/v1/panels/{id}/commands/{id}',
  '/api/v1/panels/{id}/screenshot',
  '/api/v1/sensors',
  '/api/v1/sensors/{id}',
  '/api/v1/sensors/{id}/readings',
  '/api/v1/content-sets',
  '/api/v1/content-sets/{id}',
  '/api/v1/level-schemes',
  '/api/v1/level-schemes/{id}',
  '/healthz',
  '/api/v1/{id}',
  '/{id}',
  // Every operation of the contract's table too (accounts, audit, alerts…), its parameters as {id};
  // not an event stream, which by design never ends.
  ...new Set(
    Object.values(endpoints)
      .filter((e) => !Object.values(e.responses).some((r: { mediaType?: string }) => r.mediaType === 'text/event-stream'))
      .map((e) => e.path.replace(/\{[A-Za-z]+\}/g, '{id}')),
  ),
];

/** Ids that exist, ids that could, and strings that should not get far. */
const segment = fc.oneof(
  fc.constantFrom('panel-f', 'sim-f', 'default-en', 'eaqi-3', 'no-such-thing', '00000000-0000-4000-8000-000000000000', 'fuzz-op', 'stable'),
  fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,20}$/),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('..', '%2e%2e', 'A'.repeat(200), ' ', '\u0000', '😀', '{}', 'null'),
);

const pollutantValues = fc.dictionary(
  fc.constantFrom('pm25', 'pm10', 'no2', 'o3', 'so2', 'co', ''),
  fc.oneof(fc.double(), fc.integer(), fc.string()),
  { maxKeys: 4 },
);

/** Bodies near the contract (so validation, not only parsing, is exercised) and far from it. */
const jsonBody = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      id: segment,
      name: fc.oneof(fc.string({ maxLength: 130 }), fc.constant('Fuzzed')),
      kind: fc.constantFrom('reload', 'restart', 'explode'),
      values: pollutantValues,
      measuredAt: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
      sensorSourceId: fc.oneof(segment, fc.constant(null)),
      spec: fc.oneof(
        fc.record({ kind: fc.constant('simulated') }),
        fc.record({
          kind: fc.constant('http-json'),
          url: fc.webUrl(),
          fieldMap: fc.dictionary(fc.string(), fc.string()),
          timeoutMs: fc.integer(),
        }),
      ),
      levels: fc.array(fc.record({ id: segment, label: fc.string() }), { maxLength: 4 }),
      breakpoints: fc.dictionary(fc.constantFrom('pm25', 'no2', 'x'), fc.array(fc.double(), { maxLength: 4 })),
      hysteresis: fc.record({ marginFraction: fc.double(), minDwellSeconds: fc.integer() }),
      byLevel: fc.dictionary(
        segment,
        fc.record({ headline: fc.string(), message: fc.string(), background: fc.string(), foreground: fc.string(), icon: fc.string() }),
      ),
      location: fc.oneof(fc.constant(null), fc.record({ description: fc.string(), latitude: fc.double() })),
      password: fc.oneof(fc.string({ maxLength: 300 }), fc.constant('a long enough passphrase')),
      role: fc.constantFrom('viewer', 'operator', 'release-manager', 'admin', 'root'),
      disabled: fc.oneof(fc.boolean(), fc.string()),
    },
    { requiredKeys: [] },
  ),
);

interface FuzzBody {
  raw?: string;
  json?: unknown;
}

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
  template: fc.constantFrom(...PATH_TEMPLATES),
  segments: fc.array(segment, { minLength: 2, maxLength: 2 }),
  query: fc.oneof(
    fc.constant(''),
    fc.constantFrom(
      '?limit=5',
      '?limit=-1',
      '?limit=abc',
      '?limit=5&limit=6',
      '?x=%ff',
      '?user=fuzz-op&before=3',
      '?objectType=panel&objectId=%00',
    ),
  ),
  auth: fc.constantFrom('admin', 'panel', 'none', 'bogus', 'malformed', 'session', 'session-no-csrf'),
  body: fc.oneof(
    fc.constant<FuzzBody | null>(null),
    jsonBody.map((json): FuzzBody => ({ json })),
    fc.string({ maxLength: 200 }).map((raw): FuzzBody => ({ raw })),
  ),
});

/** node:http rather than fetch: it sends bodies with GET too, as a hostile client may. */
function rawRequest(
  agent: Agent,
  baseUrl: string,
  method: string,
  urlPath: string,
  token: string | undefined,
  body: string | undefined,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...extraHeaders };
    // A token starting with "!" is sent as the whole header, to try malformed schemes.
    if (token) headers.authorization = token.startsWith('!') ? token.slice(1) : `Bearer ${token}`;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req = httpRequest(`${baseUrl}${urlPath}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('fuzzing the API', () => {
  const temp = makeTempDir();
  let backend: Backend;
  let panelKey = '';
  let session: TestSession;

  beforeAll(async () => {
    // The web app's routes are fuzzed too, against a built app of this test's own: the result
    // must not depend on whether `npm run build:backoffice` ran before the unit tests.
    const site = path.join(temp.dir, 'backoffice-dist');
    mkdirSync(path.join(site, 'assets'), { recursive: true });
    writeFileSync(
      path.join(site, 'index.html'),
      '<!doctype html><title>Airpanel</title><script type="module" src="/assets/app.js"></script>',
    );
    writeFileSync(path.join(site, 'assets', 'app.js'), 'export {};\n');
    backend = await startTestBackend(path.join(temp.dir, 'data'), { backofficeDir: site });
    const api = testApi(backend);
    await api.admin.call('createSensorSource', { body: { id: 'sim-f', name: 'Fuzz sensor', spec: { kind: 'simulated' } } });
    panelKey = (await api.admin.call('createPanel', { body: { id: 'panel-f', name: 'Fuzz', sensorSourceId: 'sim-f' } })).apiKey;
    await addTestUser(backend, 'fuzz-op', 'operator');
    session = await login(api, 'fuzz-op');
  });
  afterAll(async () => {
    await backend.close();
    temp.remove();
  });

  it('answers thousands of generated requests with 2xx, 3xx or 4xx only, and stays up', async () => {
    const api = testApi(backend);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ method, template, segments, query, auth, body }) => {
        let i = 0;
        const urlPath = template.replace(/\{id\}/g, () => encodeURIComponent(segments[i++]!)) + query;
        const token =
          auth === 'admin'
            ? backend.adminToken
            : auth === 'panel'
              ? panelKey
              : auth === 'bogus'
                ? 'bogus-token'
                : auth === 'malformed'
                  ? `!${segments[0]!.replace(/[^\x20-\x7e]/g, '')}`
                  : undefined;
        const payload = body === null ? undefined : (body.raw ?? JSON.stringify(body.json));
        const cookieHeaders: Record<string, string> = auth.startsWith('session') ? { cookie: session.cookie } : {};
        if (auth === 'session') cookieHeaders[CSRF_HEADER] = session.info.csrfToken;
        const answer = await rawRequest(agent, backend.url, method, urlPath, token, payload, cookieHeaders);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status, `${method} ${urlPath} → ${answer.text.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
        expect(answer.status, `${method} ${urlPath} → ${answer.text.slice(0, 300)}`).toBeLessThan(500);
        // The API answers errors in JSON; the web app's files are for browsers and answer in text.
        const isWebAppGet = method === 'GET' && !urlPath.startsWith('/api') && !urlPath.startsWith('/healthz');
        if (answer.status >= 400 && !isWebAppGet) expect(JSON.parse(answer.text)).toHaveProperty('error.message');
      }),
      { numRuns: 1_500, seed: 20_261_122 },
    );
    agent.destroy();
    const health = await api('getHealth');
    expect(health.status).toBe(200);
    // The generator reached past validation too, not only the 4xx answers.
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
  }, 60_000);
});
