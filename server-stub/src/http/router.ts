import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CSRF_HEADER, roleSatisfies } from '@airpanel/contract';
import { allowsOwnPanel, requiredRole } from '@airpanel/contract/api';
import { sessionCookieValue } from '../accounts/cookies.js';
import type { ChangeAuditor } from '../audit/recorder.js';
import { bearerToken, hashesEqual, type Principal, type SessionPrincipal, type UserPrincipal } from '../auth.js';
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
  /** The user of a session cookie's value (accounts/service.ts); absent: cookies are ignored. */
  authenticateSession?: (cookieValue: string) => SessionPrincipal | null;
  /** The user of a bearer token that is neither the admin token nor a panel key (accounts/api-tokens.ts). */
  authenticateUserToken?: (token: string) => UserPrincipal | null;
  /** Records every successful state-changing request (audit/recorder.ts). */
  audit?: ChangeAuditor;
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

/** The header's value equals the session's CSRF token, compared in constant time. */
function csrfTokenMatches(header: string | string[] | undefined, expected: string): boolean {
  return typeof header === 'string' && hashesEqual(Buffer.from(header), Buffer.from(expected));
}

/** The answer as it was, after handing a successful one (below 400) to the audit. */
function recordingSuccess(
  result: RouteResult | Promise<RouteResult>,
  record: (result: RouteResult) => void,
): RouteResult | Promise<RouteResult> {
  if (result instanceof Promise) return result.then((r) => recordingSuccess(r, record));
  if (result.status < 400) record(result);
  return result;
}

// Shared by requests of routes without params or query: frozen, so no handler can change it.
const noInput = { success: true as const, data: Object.freeze({}) as Record<string, unknown> };

/**
 * Registers bound routes: every request is checked in one order — credentials (401: a bearer
 * token, else the session cookie), the CSRF header of a cookie request that is not a GET
 * (403), path parameters (400), the role or a panel key's reach (403), query (400), body
 * (415, 400) — before its handler runs; the handler's answer or ServiceError is written by the
 * error writer. A successful request that is not a GET is handed to the audit.
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
        const needs = requiredRole(route.auth);
        let principal: Principal | null = null;
        if (needs !== null) {
          const authorization = request.headers.authorization;
          const cookie = authorization === undefined && options.authenticateSession ? sessionCookieValue(request.headers.cookie) : null;
          if (cookie !== null) {
            const user = options.authenticateSession!(cookie);
            principal = user;
            if (!user)
              return void sendError(reply, 401, 'session-expired', 'the session has expired or ended: log in again (POST /api/v1/session)');
            if (endpoint.method !== 'GET' && !csrfTokenMatches(request.headers[CSRF_HEADER], user.session.info.csrfToken)) {
              return void sendError(
                reply,
                403,
                'csrf',
                `a request made with the session cookie must carry the ${CSRF_HEADER} header with the session's csrfToken (GET /api/v1/session)`,
              );
            }
          } else {
            const token = bearerToken(authorization);
            if (token === null) {
              return void sendError(
                reply.header('www-authenticate', 'Bearer'),
                401,
                'unauthorized',
                'missing credentials: send "Authorization: Bearer <admin token or panel API key>", or log in (POST /api/v1/session)',
              );
            }
            principal = options.authenticate(token) ?? options.authenticateUserToken?.(token) ?? null;
            if (!principal)
              return void sendError(
                reply.header('www-authenticate', 'Bearer error="invalid_token"'),
                401,
                'unauthorized',
                "unknown credentials: the token is neither the admin token, a panel API key nor a user's API token",
              );
          }
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
              allowsOwnPanel(route.auth)
                ? "a panel's key gives access to its own resources only"
                : `this operation needs the ${needs} role (a user's session or the admin token), not a panel's key`,
            );
          }
        } else if (principal?.kind === 'user' && needs !== null && !roleSatisfies(principal.role, needs)) {
          return void sendError(
            reply,
            403,
            'forbidden',
            `this operation needs the ${needs} role${needs === 'admin' ? '' : ' (or admin)'}; user "${principal.name}" has the ${principal.role} role`,
            { requiredRole: needs, role: principal.role },
          );
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
        const audited =
          endpoint.method !== 'GET' && options.audit
            ? options.audit.begin({ endpoint, principal, params: params.data, body: body.data })
            : null;
        const handled = route.handle({ params: params.data, query: query.data, body: body.data, principal, request, reply } as Parameters<
          BoundRoute['handle']
        >[0]);
        const result = audited ? recordingSuccess(handled, audited) : handled;
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
