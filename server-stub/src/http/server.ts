import type { ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Principal } from '../auth.js';
import type { Logger } from '../logger.js';
import type { BackendMetrics } from '../metrics.js';
import { frameworkErrors, installErrorWriter } from './error-writer.js';
import { ROUTE_METRICS, registerRoutes, type MeteredRequest, type RouterOptions } from './router.js';
import type { BoundRoute } from './route.js';

/** Request bodies above this are refused with 413: no admin body comes near it. */
export const BODY_LIMIT_BYTES = 256 * 1024;

export interface HttpServerOptions {
  metrics: BackendMetrics;
  logger: Logger;
  routes: readonly BoundRoute[];
  authenticate(token: string): Principal | null;
  /** Session cookies and the audit of changes (router.ts). */
  access?: Pick<RouterOptions, 'authenticateSession' | 'authenticateUserToken' | 'audit'>;
  /** Serve HTTPS with these options (tls/backend-wiring.ts httpsServerOptions); plain HTTP without. */
  https?: HttpsServerOptions;
}

/** Body parsers for the binary bodies the routes declare: a PNG as a Buffer, a bundle left as a stream for its handler. */
export function addBinaryBodyParsers(app: FastifyInstance, routes: readonly BoundRoute[]): void {
  const added = new Set<string>();
  for (const { endpoint } of routes) {
    const binary = endpoint.binaryBody;
    if (!binary || added.has(binary.mediaType)) continue;
    added.add(binary.mediaType);
    if (binary.streamed) app.addContentTypeParser(binary.mediaType, (_request, _payload, done) => done(null));
    else app.addContentTypeParser(binary.mediaType, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  }
}

/**
 * The REST API on fastify. Validation is zod's (the shared contract), not fastify's own
 * schema compiler, so there is one validator per shape; answers are plain JSON.
 */
export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  const { metrics, logger } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Ids are at most 63 characters; a longer segment is not a route.
    routerOptions: { maxParamLength: 128 },
    return503OnClosing: true,
    frameworkErrors,
    ...(options.https ? { https: options.https } : {}),
    // Fastify types an HTTPS instance apart; every route and hook here is the same for both.
  }) as unknown as FastifyInstance;

  app.decorateRequest(ROUTE_METRICS, null);
  app.addHook('onResponse', (request, reply, done) => {
    const routeMetrics = (request as MeteredRequest)[ROUTE_METRICS] ?? metrics.httpRoute(request.routeOptions.url ?? 'unmatched');
    routeMetrics.record(request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  installErrorWriter(app, logger);
  addBinaryBodyParsers(app, options.routes);
  registerRoutes(app, options.routes, {
    ...options.access,
    authenticate: options.authenticate,
    routeMetrics: (url) => metrics.httpRoute(url),
  });
  return app;
}
