import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Identifier, PanelReading, RecordedReadingsBody } from '@airpanel/contract';
import { ServiceError } from '../errors.js';
import type { Principal } from '../service.js';
import type { PanelReadingsService } from './service.js';

const ListInput = z.object({
  panelId: Identifier,
  afterSeq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5_000).default(500),
});
const RecordedInput = z.object({ panelId: Identifier, body: RecordedReadingsBody });

export const StoredPanelReadingBody = z.object({ reading: PanelReading, receivedAt: z.string() });

export interface PanelReadingRoutesOptions {
  readings: PanelReadingsService;
  /** Who the Authorization header names: null for none or unknown credentials. */
  principalOf: (authorization: string | undefined) => Principal | null;
}

interface Reply { code(n: number): Reply; header(name: string, value: string): Reply; type(t: string): Reply; send(b: string): unknown }

function fail(reply: Reply, status: number, code: string, message: string) {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify({ error: { code, message } }));
}

/**
 * As every other panel route answers (server-stub README, Authentication): no or unknown
 * credentials → 401, another panel's key → 403, both before the request is validated.
 * Returns the answer sent, or null to go on.
 */
function refuse(reply: Reply, principal: Principal | null, panelId: unknown): unknown {
  if (!principal) return fail(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized', "admin token or this panel's key required");
  if (principal.kind === 'panel' && principal.panelId !== panelId) return fail(reply, 403, 'forbidden', "a panel's key gives access to its own resources only");
  return null;
}

/**
 * The one way both routes run: credentials checked, then the inputs parsed (400 naming what is
 * wrong), then the service, whose unknown panel answers 404.
 */
async function answer<I>(
  reply: Reply,
  principal: Principal | null,
  rawPanelId: unknown,
  parsed: z.ZodSafeParseResult<I>,
  run: (input: I) => unknown,
): Promise<unknown> {
  const refused = refuse(reply, principal, rawPanelId);
  if (refused !== null) return refused;
  if (!parsed.success) return fail(reply, 400, 'invalid-request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  try {
    return run(parsed.data);
  } catch (error) {
    if (error instanceof ServiceError && error.kind === 'not-found') return fail(reply, 404, 'not-found', error.message);
    throw error;
  }
}

/**
 * `GET /api/v1/panels/{panelId}/sensor-readings?afterSeq=&limit=`: the readings a panel's own
 * sensor sent, in the order it took them (seq), each with when the backend received it.
 */
export function panelReadingRoutes(app: FastifyInstance, options: PanelReadingRoutesOptions): void {
  app.get('/api/v1/panels/:panelId/sensor-readings', {
    config: {
      openapi: {
        summary: "Readings of the panel's own sensor, in the order it took them",
        operationId: 'listPanelSensorReadings',
        tags: ['panels'],
        security: [{ adminToken: [] }, { panelKey: [] }],
        parameters: [
          { name: 'panelId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'afterSeq', in: 'query', schema: { type: 'integer', minimum: 0 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 5000 } },
        ],
        responses: {
          200: { description: 'readings (`{ reading: PanelReading, receivedAt }[]`), oldest first' },
          401: { description: 'no or unknown credentials' },
          403: { description: 'the key of another panel' },
          404: { description: 'no such panel' },
        },
      },
    },
  }, async (request, reply) => answer(
    reply,
    options.principalOf(request.headers.authorization),
    (request.params as { panelId?: unknown }).panelId,
    ListInput.safeParse({ ...(request.query as object), ...(request.params as object) }),
    (input) => options.readings.list(input.panelId, input.afterSeq, input.limit),
  ));

  app.post('/api/v1/panels/:panelId/sensor-readings/recorded', {
    config: {
      openapi: {
        summary: 'Which of these readings of its own sensor the backend recorded (the panel then forgets them)',
        operationId: 'recordedPanelSensorReadings',
        tags: ['panels'],
        security: [{ adminToken: [] }, { panelKey: [] }],
        parameters: [{ name: 'panelId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string', format: 'uuid' }, maxItems: 1000 } }, required: ['ids'] } } } },
        responses: {
          200: { description: '`{ recorded: string[] }`: the ids among those asked that are recorded' },
          400: { description: 'not a list of 1 to 1000 reading ids' },
          401: { description: 'no or unknown credentials' },
          403: { description: 'the key of another panel' },
          404: { description: 'no such panel' },
        },
      },
    },
  }, async (request, reply) => answer(
    reply,
    options.principalOf(request.headers.authorization),
    (request.params as { panelId?: unknown }).panelId,
    RecordedInput.safeParse({ ...(request.params as object), body: request.body }),
    (input) => ({ recorded: options.readings.recorded(input.panelId, input.body.ids) }),
  ));
}
