/**
 * The backend routes the panel calls (REST under /api/v1, Bearer = the panel's API key).
 * Kept in one place so the backend side can be checked against it.
 */
function base(apiBaseUrl: string): string {
  return apiBaseUrl.replace(/\/+$/, '');
}

/** GET: the panel's current DisplayDocument, with ETag; `If-None-Match` → 304. */
export function panelDisplayUrl(apiBaseUrl: string, panelId: string): string {
  return `${base(apiBaseUrl)}/api/v1/panels/${encodeURIComponent(panelId)}/display`;
}

/** PUT `image/png`: the answer to a `screenshot` command. */
export function panelScreenshotUrl(apiBaseUrl: string, panelId: string): string {
  return `${base(apiBaseUrl)}/api/v1/panels/${encodeURIComponent(panelId)}/screenshot`;
}

export function bearer(apiKey: string): string {
  return `Bearer ${apiKey}`;
}
