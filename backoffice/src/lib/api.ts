import { ApiCallError, createApiClient, createFetchTransport, type ApiTransport, type FetchLike } from '@airpanel/contract/api';

/**
 * The one API client of the app, typed by the contract's endpoint table. Requests go to the
 * origin that served the app with the session cookie (`credentials: 'same-origin'`); every
 * state-changing request carries the session's CSRF token, which the backend checks for
 * cookie-authenticated calls.
 */

export const CSRF_HEADER_NAME = 'x-csrf-token';

let csrfToken: string | null = null;

/** The token of the current session (from login or `GET /session`); null after logout. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const sameOriginFetch: FetchLike = (url, init) =>
  fetch(url, { ...(init as RequestInit), credentials: 'same-origin' }) as unknown as ReturnType<FetchLike>;

const fetchTransport = createFetchTransport({ fetch: sameOriginFetch });

let onSessionLost: () => void = () => {};

/** What to do when the backend answers 401 to a call made in a session (it expired, or ended elsewhere). */
export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler;
}

const transport: ApiTransport = {
  async send(request) {
    const sent =
      request.method === 'GET' || csrfToken === null
        ? request
        : { ...request, headers: { ...request.headers, [CSRF_HEADER_NAME]: csrfToken } };
    const hadSession = csrfToken !== null;
    const answer = await fetchTransport.send(sent);
    if (answer.status === 401 && hadSession) onSessionLost();
    return answer;
  },
};

export const api = createApiClient({ baseUrl: window.location.origin, transport });

/** What to tell the operator about a failed call: the server's own message when it gave one. */
export function describeError(error: unknown): string {
  if (error instanceof ApiCallError) {
    if (error.serverError) return error.serverError.message;
    if (error.kind === 'transport') return 'The backend did not answer. Check the connection and try again.';
    if (error.status === 403) return 'Your role does not allow this.';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** True when the error is the server saying the session is gone (expired, logged out elsewhere). */
export function isUnauthenticated(error: unknown): boolean {
  return error instanceof ApiCallError && error.status === 401;
}
