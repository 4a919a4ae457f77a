import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { roleSatisfies, type Role } from '@airpanel/contract';
import { endpoints, fillPath, requiredRole, type Endpoint } from '@airpanel/contract/api';
import type { Backend } from '../backend.js';
import { makeTempDir, startTestBackend } from '../test-support.js';
import { addTestUser, login, sessionRequest, type TestSession } from './test-support.js';

/** Values that some path parameter schema accepts: an id, a channel, a user name, a UUID, a token id. */
const PARAM_CANDIDATES = ['no-such-thing', 'stable', '00000000-0000-4000-8000-000000000000', 'nobody', 'tok_000000000000'];

function pathOf(endpoint: Endpoint): string {
  const shape = (endpoint.params as z.ZodObject | undefined)?.shape ?? {};
  const params = Object.fromEntries(
    Object.entries(shape).map(([name, schema]) => {
      const value = PARAM_CANDIDATES.find((candidate) => (schema as z.ZodType).safeParse(candidate).success);
      if (value === undefined) throw new Error(`no candidate value for ${endpoint.operationId}'s ${name}`);
      return [name, value];
    }),
  );
  return fillPath(endpoint.path, params as never);
}

/** Every operation that needs credentials, except logout (it would end the session) and event streams (they never end). */
const guarded = Object.values(endpoints as Record<string, Endpoint>).filter(
  (e) =>
    requiredRole(e.auth) !== null &&
    e.operationId !== 'logout' &&
    !Object.values(e.responses).some((r) => r.mediaType === 'text/event-stream'),
);

describe('the role matrix over the whole endpoint table (real backend, sessions over HTTP)', () => {
  const temp = makeTempDir();
  let backend: Backend;
  const sessions = new Map<Role, TestSession>();

  beforeAll(async () => {
    backend = await startTestBackend(temp.dir);
    for (const role of ['viewer', 'operator', 'release-manager', 'admin'] as const) {
      await addTestUser(backend, `user-${role}`, role);
      sessions.set(role, await login(backend.url, `user-${role}`));
    }
  });
  afterAll(async () => {
    await backend.close();
    temp.remove();
  });

  it('covers the table', () => {
    expect(guarded.length).toBeGreaterThan(40);
    expect(guarded.map((e) => e.operationId)).toEqual(
      expect.arrayContaining(['replaceContentSet', 'publishRelease', 'createUser', 'listAudit']),
    );
  });

  for (const role of ['viewer', 'operator', 'release-manager', 'admin'] as const) {
    it(`a ${role} gets 403 naming the role exactly where its role does not reach`, async () => {
      const session = sessions.get(role)!;
      const wrong: string[] = [];
      for (const endpoint of guarded) {
        const needs = requiredRole(endpoint.auth)!;
        // No body: an allowed request stops at validation (400/415) or finds nothing (404), changing nothing.
        const answer = await sessionRequest(backend.url, session, endpoint.method, pathOf(endpoint));
        const allowed = roleSatisfies(role, needs);
        const refused = answer.status === 403;
        const message = (answer.json as { error?: { message?: string } } | undefined)?.error?.message ?? '';
        if (allowed === refused || (refused && !message.includes(`needs the ${needs} role`)))
          wrong.push(`${endpoint.operationId} (needs ${needs}): ${answer.status} ${message}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('names the cases of the issue: a viewer changes nothing, an operator promotes no release, a release manager edits no content', async () => {
    const viewer = sessions.get('viewer')!;
    for (const endpoint of guarded.filter((e) => e.method !== 'GET'))
      expect((await sessionRequest(backend.url, viewer, endpoint.method, pathOf(endpoint))).status, endpoint.operationId).toBe(403);
    const promote = await sessionRequest(backend.url, sessions.get('operator')!, 'POST', '/api/v1/releases', { body: {} });
    expect(promote.status).toBe(403);
    const pause = await sessionRequest(backend.url, sessions.get('operator')!, 'POST', '/api/v1/releases/channels/stable/pause', {
      body: { paused: true },
    });
    expect(pause.status).toBe(403);
    const edit = await sessionRequest(backend.url, sessions.get('release-manager')!, 'PUT', '/api/v1/content-sets/default-en', {
      body: {},
    });
    expect(edit.status).toBe(403);
    expect(edit.json).toMatchObject({ error: { code: 'forbidden', details: { requiredRole: 'operator', role: 'release-manager' } } });
  });

  it('lets the admin token through every role check', async () => {
    for (const endpoint of guarded) {
      const answer = await fetch(`${backend.url}${pathOf(endpoint)}`, {
        method: endpoint.method,
        headers: { authorization: `Bearer ${backend.adminToken}` },
      });
      await answer.arrayBuffer();
      expect(answer.status, endpoint.operationId).not.toBe(403);
    }
  });
});
