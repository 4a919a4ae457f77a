import { displayEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, type BoundRoute } from '../http/route.js';
import type { HttpPollTracker } from '../status/http-polls.js';
import type { DocumentIssuer } from './issuer.js';

/** True when an If-None-Match header lists `etag` (or is `*`); weak tags compare by value. */
export function ifNoneMatchIncludes(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header === etag) return true;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/** The display route: the current document from memory, so a 304 costs no database access. */
export function displayRoutes(issuer: DocumentIssuer, httpPolls: HttpPollTracker): BoundRoute[] {
  return [
    bindRoute(endpoints.getDisplay, ({ params, request, principal }) => {
      const cached = issuer.display(params.panelId);
      if (!cached) return { status: 404, body: { error: { code: 'not-found', message: `panel "${params.panelId}" does not exist` } } };
      if (principal?.kind === 'panel') httpPolls.note(params.panelId);
      const headers = { etag: cached.etag, 'cache-control': 'no-cache' };
      if (ifNoneMatchIncludes(request.headers['if-none-match'], cached.etag)) return { status: 304, headers };
      return { status: 200, rawJson: cached.json, headers };
    }),
  ];
}
