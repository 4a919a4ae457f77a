import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { roleSatisfies, type Role } from '@airpanel/contract';
import { endpoints, requiredRole, type Endpoint, type OperationId } from '@airpanel/contract/api';
import { useTestBackend, type RequestInput } from '../test-support.js';
import { addTestUser, login, sessionApi, type TestSession } from './test-support.js';

/** Values that some path parameter schema accepts: an id, a channel, a user name, a UUID, a token id. */
const PARAM_CANDIDATES = ['no-such-thing', 'stable', '00000000-0000-4000-8000-000000000000', 'nobody', 'tok_000000000000'];

/** A request to the endpoint with no body: its path parameters filled with values their schemas accept. */
function requestTo(endpoint: Endpoint): RequestInput<OperationId> {
  const shape = (endpoint.params as z.ZodObject | undefined)?.shape ?? {};
  const params = Object.fromEntries(
    Object.entries(shape).map(([name, schema]) => {
      const value = PARAM_CANDIDATES.find((candidate) => (schema as z.ZodType).safeParse(candidate).success);
      if (value === undefined) throw new Error(`no candidate value for ${endpoint.operationId}'s ${name}`);
      return [name, value];
    }),
  );
  return { params } as RequestInput<OperationId>;
}

/** Every operation that needs credentials, except logout (it would end the session) and event streams (they never end). */
const guarded = Object.values(endpoints as Record<string, Endpoint>).filter(
  (e) =>
    requiredRole(e.auth) !== null &&
    e.operationId !== 'logout' &&
    !Object.values(e.responses).some((r) => r.mediaType === 'text/event-stream'),
);

describe('the role matrix over the whole endpoint table (real backend, sessions over HTTP)', () => {
  const fixture = useTestBackend({}, { per: 'suite' });
  const sessions = new Map<Role, TestSession>();
  const as = (role: Role) => sessionApi(fixture.api, sessions.get(role)!);

  beforeAll(async () => {
    const backend = await fixture.start();
    for (const role of ['viewer', 'operator', 'release-manager', 'admin'] as const) {
      await addTestUser(backend, `user-${role}`, role);
      sessions.set(role, await login(fixture.api, `user-${role}`));
    }
  });

  it('covers the table', () => {
    expect(guarded.length).toBeGreaterThan(40);
    expect(guarded.map((e) => e.operationId)).toEqual(
      expect.arrayContaining(['replaceContentSet', 'publishRelease', 'createUser', 'listAudit']),
    );
  });

  for (const role of ['viewer', 'operator', 'release-manager', 'admin'] as const) {
    it(`a ${role} gets 403 naming the role exactly where its role does not reach`, async () => {
      const wrong: string[] = [];
      for (const endpoint of guarded) {
        const needs = requiredRole(endpoint.auth)!;
        // No body: an allowed request stops at validation (400/415) or finds nothing (404), changing nothing.
        const answer = await as(role)(endpoint.operationId as OperationId, requestTo(endpoint));
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
    for (const endpoint of guarded.filter((e) => e.method !== 'GET'))
      expect((await as('viewer')(endpoint.operationId as OperationId, requestTo(endpoint))).status, endpoint.operationId).toBe(403);
    const promote = await as('operator')('publishRelease', { rawBody: '{}' });
    expect(promote.status).toBe(403);
    const pause = await as('operator')('pauseChannel', { params: { channel: 'stable' }, body: { paused: true } });
    expect(pause.status).toBe(403);
    const edit = await as('release-manager')('replaceContentSet', { params: { contentSetId: 'default-en' }, rawBody: '{}' });
    expect(edit.status).toBe(403);
    expect(edit.json).toMatchObject({ error: { code: 'forbidden', details: { requiredRole: 'operator', role: 'release-manager' } } });
  });

  it('lets the admin token through every role check', async () => {
    for (const endpoint of guarded) {
      const answer = await fixture.api(endpoint.operationId as OperationId, { ...requestTo(endpoint), token: fixture.backend.adminToken });
      expect(answer.status, endpoint.operationId).not.toBe(403);
    }
  });
});
