import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { bearerToken } from '../auth.js';
import { STATUS_OF_KIND, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BackendMetrics, HttpRouteMetrics } from '../metrics.js';
import type { AirpanelService, Principal } from '../service.js';
import type { RouteResult, RouteSpec } from './route-spec.js';

/** Request bodies above this are refused with 413: no admin body comes near it. */
export const BODY_LIMIT_BYTES = 256 * 1024;

export interface HttpServerOptions {
  service: AirpanelService;
  metrics: BackendMetrics;
  logger: Logger;
  routes: RouteSpec[];
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: unknown): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } }));
}

/**
 * The request metrics of the route a request was routed to, set by the route's handler, so
 * that the onResponse hook need not find them (fastify's request.routeOptions builds an
 * object on every read). A request that never reaches a handler of ours (404, a module's
 * route, a body the parser refused) is found by its route's URL instead.
 */
const ROUTE_METRICS = Symbol('airpanel.routeMetrics');
type MeteredRequest = FastifyRequest & { [ROUTE_METRICS]: HttpRouteMetrics | null };

/** A zod error as a one-line message plus its issues, prefixed with where the input was. */
function invalid(reply: FastifyReply, where: string, error: z.ZodError): FastifyReply {
  const issues = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  const message = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ');
  return sendError(reply, 400, 'invalid-request', message, { issues: issues.slice(0, 50) });
}

function fastifyErrorCode(error: FastifyError, status: number): string {
  if (status === 413) return 'payload-too-large';
  if (status === 415) return 'unsupported-media-type';
  if (error.code?.includes('JSON') || error instanceof SyntaxError) return 'malformed-json';
  return 'bad-request';
}

/**
 * The REST API on fastify. Validation is zod's (the shared contract), not fastify's own
 * schema compiler, so there is one validator per shape; answers are plain JSON.
 */
export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  const { service, metrics, logger } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Ids are at most 63 characters; a longer segment is not a route.
    routerOptions: { maxParamLength: 128 },
    return503OnClosing: true,
    // Router-level refusals (bad URL encoding, over-long segment) get the same ApiError body.
    frameworkErrors: (error, _request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      void sendError(reply, status, 'bad-url', error.message);
    },
  });

  app.decorateRequest(ROUTE_METRICS, null);
  app.addHook('onResponse', (request, reply, done) => {
    const routeMetrics = (request as MeteredRequest)[ROUTE_METRICS] ?? metrics.httpRoute(request.routeOptions.url ?? 'unmatched');
    routeMetrics.record(request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServiceError) return sendError(reply, STATUS_OF_KIND[error.kind], error.code, error.message, error.details);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, fastifyErrorCode(error, status), error.message);
    logger.error('http: request failed', { method: request.method, url: request.url, error: error.message, stack: error.stack });
    return sendError(reply, 500, 'internal', 'the backend failed to answer this request; see its log');
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'no-route', `no route ${request.method} ${request.url.split('?')[0]}`));

  // Screenshots arrive as PNG; the route caps the size (the global limit is for JSON).
  app.addContentTypeParser('image/png', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const send = (reply: FastifyReply, result: RouteResult): void => {
    reply.code(result.status);
    if (result.headers) reply.headers(result.headers);
    if (result.status === 204 || result.status === 304) reply.send();
    else if (result.raw) reply.type(result.raw.contentType).send(result.raw.payload);
    else reply.type('application/json; charset=utf-8').send(result.rawJson ?? JSON.stringify(result.body));
  };
  // Shared by requests of routes without params or query: frozen, so no handler can change it.
  const noParams = { success: true as const, data: Object.freeze({}) as Record<string, unknown> };

  for (const route of options.routes) {
    const url = route.path.replace(/\{([A-Za-z]+)\}/g, ':$1');
    const routeMetrics = metrics.httpRoute(url);
    // Not an async function: a route whose handle() answers at once (the display route's
    // 304) is sent in the same tick, without a promise and the microtasks of resolving the
    // reply (a thenable) it would return. Every path calls reply.send exactly once and
    // returns undefined, or returns the promise of an asynchronous handle(); a throw or a
    // rejection reaches the error handler either way.
    app.route({
      method: route.method,
      url,
      ...(route.binaryBody ? { bodyLimit: route.binaryBody.maxBytes } : {}),
      handler: (request, reply): Promise<void> | undefined => {
        (request as MeteredRequest)[ROUTE_METRICS] = routeMetrics;
        let principal: Principal | null = null;
        if (route.auth !== 'none') {
          const token = bearerToken(request.headers.authorization);
          if (token === null) {
            return void sendError(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized', 'missing credentials: send "Authorization: Bearer <admin token or panel API key>"');
          }
          principal = service.authenticate(token);
          if (!principal) return void sendError(reply.header('www-authenticate', 'Bearer error="invalid_token"'), 401, 'unauthorized', 'unknown credentials: the token is neither the admin token nor a panel API key');
        }
        const params = route.params ? route.params.safeParse(request.params) : noParams;
        if (!params.success) return void invalid(reply, 'params', params.error);
        if (principal?.kind === 'panel') {
          const ownPanel = route.auth === 'admin-or-own-panel' && params.data.panelId === principal.panelId;
          if (!ownPanel) {
            return void sendError(reply, 403, 'forbidden', route.auth === 'admin' ? 'this operation needs the admin token' : "a panel's key gives access to its own resources only");
          }
        }
        const query = route.query ? route.query.safeParse(request.query ?? {}) : noParams;
        if (!query.success) return void invalid(reply, 'query', query.error);
        if (route.binaryBody) {
          const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (contentType !== route.binaryBody.mediaType || !Buffer.isBuffer(request.body)) {
            return void sendError(reply, 415, 'unsupported-media-type', `send the body as ${route.binaryBody.mediaType}`);
          }
        }
        const body = route.body
          ? route.body.schema.safeParse(request.body)
          : { success: true as const, data: route.binaryBody ? (request.body as Buffer) : undefined };
        if (!body.success) {
          if (request.body === undefined) return void sendError(reply, 400, 'invalid-request', 'a JSON body is required (Content-Type: application/json)');
          return void invalid(reply, 'body', body.error);
        }
        const result = route.handle({ params: params.data, query: query.data, body: body.data, principal, request, reply });
        if (result instanceof Promise) return result.then((r) => send(reply, r));
        return void send(reply, result);
      },
    });
  }
  return app;
}
