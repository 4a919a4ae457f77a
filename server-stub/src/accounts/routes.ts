import { accountEndpoints as endpoints } from '@airpanel/contract/api';
import { ServiceError } from '../errors.js';
import { bindRoute, noContent, ok, type BoundRoute, type RouteResult } from '../http/route.js';
import type { ApiTokenService } from './api-tokens.js';
import { clearedSessionCookie, sessionCookie } from './cookies.js';
import { LoginLockedError, type AccountService } from './service.js';

export interface AccountRoutesOptions {
  /** Mark the session cookie Secure: the backend serves HTTPS. */
  secureCookies: boolean;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Login, the session, logout, the users and their API tokens (the audit log's route is in ../audit). */
export function accountRoutes(accounts: AccountService, tokens: ApiTokenService, o: AccountRoutesOptions): BoundRoute[] {
  return [
    bindRoute(endpoints.login, async ({ body }): Promise<RouteResult> => {
      try {
        const { cookieValue, info } = await accounts.login(body.name, body.password);
        const maxAge = (Date.parse(info.absoluteExpiresAt) - o.now()) / 1000;
        return { status: 200, body: info, headers: { 'set-cookie': sessionCookie(cookieValue, Math.round(maxAge), o.secureCookies) } };
      } catch (error) {
        if (!(error instanceof LoginLockedError)) throw error;
        const retryAt = new Date(error.retryAtMs).toISOString();
        return {
          status: 429,
          headers: { 'retry-after': String(Math.max(1, Math.ceil((error.retryAtMs - o.now()) / 1000))) },
          body: { error: { code: 'login-locked', message: error.message, details: { retryAt } } },
        };
      }
    }),
    bindRoute(endpoints.getSession, ({ principal }) => {
      if (principal?.kind !== 'user' || principal.session === null)
        throw new ServiceError(
          'unauthorized',
          'no-session',
          'this request carries a bearer token, not a session cookie: there is no session',
        );
      return ok(principal.session.info);
    }),
    bindRoute(endpoints.logout, ({ principal }) => {
      if (principal?.kind === 'user' && principal.session) accounts.logout(principal.session.idHash);
      return { status: 204, headers: { 'set-cookie': clearedSessionCookie(o.secureCookies) } };
    }),
    bindRoute(endpoints.listUsers, () => ok(accounts.list())),
    bindRoute(endpoints.createUser, async ({ body }) => ok(await accounts.create(body), 201)),
    bindRoute(endpoints.updateUser, async ({ params, body }) => ok(await accounts.update(params.userName, body))),
    bindRoute(endpoints.listApiTokens, ({ params }) => ok(tokens.list(params.userName))),
    bindRoute(endpoints.createApiToken, ({ params, body }) => ok(tokens.create(params.userName, body), 201)),
    bindRoute(endpoints.deleteApiToken, ({ params }) => {
      tokens.delete(params.userName, params.tokenId);
      return noContent();
    }),
  ];
}
