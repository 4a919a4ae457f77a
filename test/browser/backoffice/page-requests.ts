import type { Page } from '@playwright/test';
import { endpoints, fillPath, type OperationId } from '@airpanel/contract/api';

/**
 * A request made from inside a logged-in page, as the app makes it: the session cookie, and the
 * session's CSRF token (read from the session endpoint) on anything but GET. So a refusal is the
 * role's, not a missing token's. Paths come from the contract's endpoint table.
 */
export async function requestAsPage(
  page: Page,
  operation: OperationId,
  params: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const endpoint = endpoints[operation];
  const path = fillPath(endpoint.path, params);
  return page.evaluate(
    async ({ path, method, sessionPath, body }) => {
      const session = (await (await fetch(sessionPath, { credentials: 'same-origin' })).json()) as { csrfToken: string };
      const response = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers: { 'x-csrf-token': session.csrfToken, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: response.status, body: parsed };
    },
    { path, method: endpoint.method, sessionPath: endpoints.getSession.path, body },
  );
}
