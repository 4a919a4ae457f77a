import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiPath } from '@airpanel/contract/api';
import type { Backend } from '../backend.js';
import { makeTempDir, startTestBackend, testApi } from '../test-support.js';

type Json = Record<string, unknown>;

/** Every `$ref` anywhere in `node`. */
function refsIn(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refsIn(value, found);
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  const temp = makeTempDir();
  let backend: Backend;
  let doc: Json;

  beforeAll(async () => {
    backend = await startTestBackend(temp.dir);
    const answer = await testApi(backend)('getOpenApi');
    expect(answer.status).toBe(200);
    doc = answer.json as Json;
  });
  afterAll(async () => {
    await backend.close();
    temp.remove();
  });

  it('is OpenAPI 3 with both security schemes', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d$/);
    expect((doc.info as Json).title).toBeTruthy();
    const schemes = (doc.components as Json).securitySchemes as Json;
    expect(schemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.panelKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'airpanel_session' });
  });

  it('lists every route the server answers, with parameters, bodies, answers and security', () => {
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const expected = [
      'get /healthz',
      'get /metrics',
      'get /api/v1/openapi.json',
      'post /api/v1/panels',
      'get /api/v1/panels',
      'get /api/v1/panels/{panelId}',
      'patch /api/v1/panels/{panelId}',
      'delete /api/v1/panels/{panelId}',
      'post /api/v1/panels/{panelId}/api-key',
      'post /api/v1/panels/{panelId}/client-certificate',
      'get /api/v1/panels/{panelId}/transitions',
      'get /api/v1/panels/{panelId}/display',
      'put /api/v1/panels/{panelId}/screenshot',
      'get /api/v1/panels/{panelId}/screenshot',
      'post /api/v1/panels/{panelId}/commands',
      'get /api/v1/panels/{panelId}/commands',
      'get /api/v1/panels/{panelId}/commands/{commandId}',
      'get /api/v1/sensors',
      'post /api/v1/sensors',
      'get /api/v1/sensors/{sensorId}',
      'put /api/v1/sensors/{sensorId}',
      'delete /api/v1/sensors/{sensorId}',
      'post /api/v1/sensors/{sensorId}/readings',
      'get /api/v1/sensors/{sensorId}/readings',
      'get /api/v1/content-sets',
      'post /api/v1/content-sets',
      'get /api/v1/content-sets/{contentSetId}',
      'put /api/v1/content-sets/{contentSetId}',
      'delete /api/v1/content-sets/{contentSetId}',
      'get /api/v1/level-schemes',
      'post /api/v1/level-schemes',
      'get /api/v1/level-schemes/{levelSchemeId}',
      'put /api/v1/level-schemes/{levelSchemeId}',
      'delete /api/v1/level-schemes/{levelSchemeId}',
      'get /api/v1/panels/{panelId}/sensor-readings',
      'post /api/v1/panels/{panelId}/sensor-readings/recorded',
      'post /api/v1/session',
      'get /api/v1/session',
      'delete /api/v1/session',
      'get /api/v1/users',
      'post /api/v1/users',
      'patch /api/v1/users/{userName}',
      'get /api/v1/users/{userName}/api-tokens',
      'post /api/v1/users/{userName}/api-tokens',
      'delete /api/v1/users/{userName}/api-tokens/{tokenId}',
      'get /api/v1/audit',
      'get /api/v1/alerts',
      'get /api/v1/alert-settings',
      'put /api/v1/alert-settings',
      'get /api/v1/events',
    ];
    const listed = Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => !(op.tags as string[]).includes('releases'))
        .map(([method]) => `${method} ${path}`),
    );
    expect(listed.sort()).toEqual(expected.sort());
    // The release feed module's routes are listed too, with their path parameters.
    expect(paths['/api/v1/update/channels/{channel}/manifest']?.get).toBeTruthy();
    expect(paths['/api/v1/releases']?.post?.security).toEqual([{ adminToken: [] }, { sessionCookie: [] }]);
    expect(paths['/api/v1/releases']?.post?.['x-required-role']).toBe('release-manager');

    const operationIds = new Set<string>();
    for (const [path, ops] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if ((op.tags as string[]).includes('releases')) continue;
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect(operationIds.has(op.operationId as string)).toBe(false);
        operationIds.add(op.operationId as string);
        const declared = ((op.parameters as Json[]) ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(declared.sort(), `${method} ${path} path parameters`).toEqual(inPath.sort());
        if (['put', 'patch'].includes(method) || (method === 'post' && !path.endsWith('/api-key'))) {
          expect(op.requestBody, `${method} ${path}`).toBeTruthy();
        }
        const responses = op.responses as Record<string, Json>;
        expect(
          Object.keys(responses).some((code) => code.startsWith('2')),
          `${method} ${path} has a success answer`,
        ).toBe(true);
        if (path.startsWith('/api/v1/') && path !== '/api/v1/openapi.json' && op.operationId !== 'login') {
          expect((op.security as unknown[]).length, `${method} ${path} security`).toBeGreaterThan(0);
          expect(responses['401'], `${method} ${path} documents 401`).toBeTruthy();
          // The role it needs, as the extension and in words.
          expect(['viewer', 'operator', 'release-manager', 'admin'], `${method} ${path} x-required-role`).toContain(op['x-required-role']);
          expect(op.description, `${method} ${path} description`).toMatch(/role/);
        }
      }
    }
    expect(paths['/api/v1/panels']!.post!.requestBody).toBeTruthy();
    expect(paths['/api/v1/sensors/{sensorId}/readings']!.post!.requestBody).toBeTruthy();
    expect(paths['/api/v1/panels/{panelId}/display']!.get!.security as Json[]).toEqual([
      { adminToken: [] },
      { sessionCookie: [] },
      { panelKey: [] },
    ]);
    expect(paths['/api/v1/panels/{panelId}/display']!.get!['x-required-role']).toBe('viewer');
    expect(paths['/api/v1/content-sets/{contentSetId}']!.put!['x-required-role']).toBe('operator');
    expect(paths['/api/v1/users']!.post!['x-required-role']).toBe('admin');
    expect(paths['/api/v1/session']!.post!.security).toEqual([]);
    expect((paths['/api/v1/panels/{panelId}/display']!.get!.responses as Json)['304']).toBeTruthy();
  });

  it('resolves every schema reference, and describes the contract shapes', () => {
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    for (const ref of refsIn(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(schemas[ref.slice('#/components/schemas/'.length)], ref).toBeTruthy();
    }
    const registration = schemas.PanelRegistration!;
    expect(registration.required).toEqual(expect.arrayContaining(['panel', 'apiKey', 'endpoints']));
    const display = schemas.DisplayDocument!;
    expect(Object.keys(display.properties as Json)).toEqual(
      expect.arrayContaining(['revision', 'validUntil', 'level', 'content', 'scheme']),
    );
    // Request bodies are described as input: a defaulted field is optional there.
    expect((schemas.ContentSetCreateBody!.required as string[]).includes('locale')).toBe(false);
    expect(JSON.stringify(doc)).not.toContain('"$id"');
  });
});

describe('OpenAPI document with routes added through extendHttp', () => {
  it('lists them with their path parameters and the description the module gives', async () => {
    const temp = makeTempDir();
    const backend = await startTestBackend(temp.dir, {
      releaseFeed: false,
      extendHttp: (app, { isAdmin }) => {
        app.get(
          '/api/v1/extras/:thing',
          { config: { openapi: { summary: 'One extra thing', security: [{ adminToken: [] }] } } },
          async (request, reply) =>
            isAdmin(request.headers.authorization)
              ? { thing: (request.params as { thing: string }).thing }
              : reply.code(401).send({ error: { code: 'unauthorized', message: 'admin only' } }),
        );
      },
    });
    try {
      const api = testApi(backend);
      const doc = (await api('getOpenApi')).json as { paths: Record<string, Record<string, Json>> };
      const op = doc.paths['/api/v1/extras/{thing}']!.get!;
      expect(op).toMatchObject({
        summary: 'One extra thing',
        security: [{ adminToken: [] }],
        parameters: [{ name: 'thing', in: 'path', required: true }],
      });
      expect(doc.paths['/api/v1/releases']).toBeUndefined();
      const extra = { method: 'GET', path: apiPath('/extras/lamp') } as const;
      expect((await api(extra, { token: backend.adminToken })).json).toEqual({ thing: 'lamp' });
      expect((await api(extra)).status).toBe(401);
    } finally {
      await backend.close();
      temp.remove();
    }
  });
});
