import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allowsOwnPanel } from '@airpanel/contract/api';
import { bearerToken, type Principal } from '../auth.js';
import type { HttpRouteMetrics } from '../metrics.js';
import { sendError, sendInvalid } from './error-writer.js';
import type { BoundRoute, RouteResult } from './route.js';

/**
 * The request metrics of the route a request was routed to, set by the route's handler, so
 * that the onResponse hook need not find them (fastify's request.routeOptions builds an
 * object on every read). A request that never reaches a handler of ours (404, an extension's
 * route, a body the parser refused) is found by its route's URL instead.
 */
export const ROUTE_METRICS = Symbol('airpanel.routeMetrics');
export type MeteredRequest = FastifyRequest & { [ROUTE_METRICS]: HttpRouteMetrics | null };

export interface RouterOptions {
  /** Who a bearer token is: the admin, a panel, or nobody known (null). */
  authenticate(token: string): Principal | null;
  /** Request metrics of a route, by its fastify URL. */
  routeMetrics?: (url: string) => HttpRouteMetrics;
  /** Registered inside a fastify plugin under this prefix: the endpoints' paths lose it. */
  underPrefix?: string;
}

/** `/api/v1/panels/{panelId}` → `/api/v1/panels/:panelId` */
export function fastifyUrl(path: string): string {
  return path.replace(/\{([A-Za-z]+)\}/g, ':$1');
}

function send(reply: Parameters<BoundRoute['handle']>[0]['reply'], result: RouteResult): void {
  reply.code(result.status);
  if (result.headers) reply.headers(result.headers);
  if (result.raw) reply.type(result.raw.contentType).send(result.raw.payload);
  else if (result.rawJson !== undefined) reply.type('application/json; charset=utf-8').send(result.rawJson);
  else if (result.body !== undefined && result.status !== 204 && result.status !== 304)
    reply.type('application/json; charset=utf-8').send(JSON.stringify(result.body));
  else reply.send();
}

// Shared by requests of routes without params or query: frozen, so no handler can change it.
const noInput = { success: true as const, data: Object.freeze({}) as Record<string, unknown> };

/**
 * Registers bound routes: every request is checked in one order — credentials (401), path
 * parameters (400), a panel key's reach (403), query (400), body (415, 400) — before its
 * handler runs; the handler's answer or ServiceError is written by the error writer.
 */
export function registerRoutes(app: FastifyInstance, routes: readonly BoundRoute[], options: RouterOptions): void {
  for (const route of routes) {
    const { endpoint } = route;
    const path =
      options.underPrefix && endpoint.path.startsWith(options.underPrefix)
        ? endpoint.path.slice(options.underPrefix.length)
        : endpoint.path;
    const url = fastifyUrl(path);
    const routeMetrics = options.routeMetrics?.(fastifyUrl(endpoint.path)) ?? null;
    // Not an async function: a route whose handle() answers at once (the display route's
    // 304) is sent in the same tick, without a promise and the microtasks of resolving the
    // reply (a thenable) it would return. Every path calls reply.send exactly once and
    // returns undefined; a throw or a rejection reaches the error handler either way.
    app.route({
      method: endpoint.method,
      url,
      ...(route.bodyLimit !== undefined ? { bodyLimit: route.bodyLimit } : {}),
      handler: (request, reply): undefined => {
        (request as MeteredRequest)[ROUTE_METRICS] = routeMetrics;
        let principal: Principal | null = null;
        if (route.auth !== 'none') {
          const token = bearerToken(request.headers.authorization);
          if (token === null) {
            return void sendError(
              reply.header('www-authenticate', 'Bearer'),
              401,
              'unauthorized',
              'missing credentials: send "Authorization: Bearer <admin token or panel API key>"',
            );
          }
          principal = options.authenticate(token);
          if (!principal)
            return void sendError(
              reply.header('www-authenticate', 'Bearer error="invalid_token"'),
              401,
              'unauthorized',
              'unknown credentials: the token is neither the admin token nor a panel API key',
            );
        }
        const params = endpoint.params ? endpoint.params.safeParse(request.params) : noInput;
        if (!params.success) return void sendInvalid(reply, 'params', params.error);
        if (principal?.kind === 'panel') {
          const ownPanel = allowsOwnPanel(route.auth) && params.data.panelId === principal.panelId;
          if (!ownPanel) {
            return void sendError(
              reply,
              403,
              'forbidden',
              allowsOwnPanel(route.auth) ? "a panel's key gives access to its own resources only" : 'this operation needs the admin token',
            );
          }
        }
        const query = endpoint.query ? endpoint.query.safeParse(request.query ?? {}) : noInput;
        if (!query.success) return void sendInvalid(reply, 'query', query.error);
        const binary = endpoint.binaryBody;
        if (binary) {
          const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (!binary.streamed && (contentType !== binary.mediaType || !Buffer.isBuffer(request.body))) {
            return void sendError(reply, 415, 'unsupported-media-type', `send the body as ${binary.mediaType}`);
          }
        }
        const body = endpoint.body
          ? endpoint.body.schema.safeParse(request.body)
          : { success: true as const, data: binary && !binary.streamed ? (request.body as Buffer) : undefined };
        if (!body.success) {
          if (request.body === undefined)
            return void sendError(reply, 400, 'invalid-request', 'a JSON body is required (Content-Type: application/json)');
          return void sendInvalid(reply, 'body', body.error);
        }
        const result = route.handle({ params: params.data, query: query.data, body: body.data, principal, request, reply } as Parameters<
          BoundRoute['handle']
        >[0]);
        // An asynchronous answer is sent when it resolves, and its promise is not handed to
        // fastify: fastify would send an empty body for a promise resolving to undefined
        // before a streamed answer (a bundle) has written its headers.
        if (result instanceof Promise)
          return void result.then(
            (r) => send(reply, r),
            (error: unknown) => void reply.send(error),
          );
        return void send(reply, result);
      },
    });
  }
}
