import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { STATUS_OF_KIND, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * The one way the API answers an error: an ApiError body `{"error":{"code","message","details"?}}`.
 * Handlers throw ServiceErrors; the router refuses credentials and inputs through `sendError`.
 */
export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: unknown): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } }));
}

/** A zod error as a one-line message plus its issues, prefixed with where the input was. */
export function sendInvalid(reply: FastifyReply, where: string, error: z.ZodError): FastifyReply {
  const issues = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  const message = issues
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return sendError(reply, 400, 'invalid-request', message, { issues: issues.slice(0, 50) });
}

function fastifyErrorCode(error: FastifyError, status: number): string {
  if (status === 413) return 'payload-too-large';
  if (status === 415) return 'unsupported-media-type';
  if (error.code?.includes('JSON') || error instanceof SyntaxError) return 'malformed-json';
  return 'bad-request';
}

/** Router-level refusals (bad URL encoding, over-long segment): fastify's `frameworkErrors` option. */
export function frameworkErrors(error: FastifyError, _request: unknown, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void sendError(reply, status, 'bad-url', error.message);
}

/** ServiceErrors, fastify's own 4xx (body parser, limits), unknown routes and bugs, all as ApiError bodies. */
export function installErrorWriter(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServiceError) return sendError(reply, STATUS_OF_KIND[error.kind], error.code, error.message, error.details);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, fastifyErrorCode(error, status), error.message);
    logger.error('http: request failed', { method: request.method, url: request.url, error: error.message, stack: error.stack });
    return sendError(reply, 500, 'internal', 'the backend failed to answer this request; see its log');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'no-route', `no route ${request.method} ${request.url.split('?')[0]}`));
}
