/**
 * The backend routes the panel calls (REST, Bearer = the panel's API key), in one place so
 * the backend side can be checked against them.
 *
 * `endpoints.apiBaseUrl` in panel.json is the versioned API root the backend hands out at
 * registration (`http://host:port/api/v1`). A bare server root (`http://host:port`) is
 * accepted too, since hand-written configs use it: `/api/v1` is appended only when missing.
 */
export function apiRoot(apiBaseUrl: string): string {
  const trimmed = apiBaseUrl.replace(/\/+$/, '');
  return trimmed.endsWith('/api/v1') ? trimmed : `${trimmed}/api/v1`;
}

/** GET: the panel's current DisplayDocument, with ETag; `If-None-Match` → 304. */
export function panelDisplayUrl(apiBaseUrl: string, panelId: string): string {
  return `${apiRoot(apiBaseUrl)}/panels/${encodeURIComponent(panelId)}/display`;
}

/** PUT `image/png`: the answer to a `screenshot` command. */
export function panelScreenshotUrl(apiBaseUrl: string, panelId: string): string {
  return `${apiRoot(apiBaseUrl)}/panels/${encodeURIComponent(panelId)}/screenshot`;
}

/** POST `{ids}` → `{recorded}`: which of the panel's own-sensor readings the backend has. */
export function panelRecordedReadingsUrl(apiBaseUrl: string, panelId: string): string {
  return `${apiRoot(apiBaseUrl)}/panels/${encodeURIComponent(panelId)}/sensor-readings/recorded`;
}

export function bearer(apiKey: string): string {
  return `Bearer ${apiKey}`;
}
