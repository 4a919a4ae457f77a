import type { Got } from 'got';
import { ApiError, PanelCreateBody, PanelRegistration, PanelSummary } from '@airpanel/contract';
import { ProvisionError } from './errors.js';
import { describeIssues } from './panel-file.js';

export interface RegisterRequest {
  /** The backend's base URL, e.g. https://airpanel.example.org */
  api: string;
  adminToken: string;
  body: PanelCreateBody;
}

/** The URL of `POST /api/v1/panels` below a base URL that may itself have a path. */
export function panelsUrl(api: string): URL {
  let base: URL;
  try {
    base = new URL(api);
  } catch {
    throw new ProvisionError(`--api ${JSON.stringify(api)} is not a URL (e.g. https://airpanel.example.org)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new ProvisionError(`--api must be an http(s) URL, not ${base.protocol}`);
  }
  const path = base.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return new URL(`${path}/api/v1/panels`, base.origin);
}

/** Validates what will be sent (the shared PanelCreateBody schema), with a readable error. */
export function validateCreateBody(body: unknown): PanelCreateBody {
  const parsed = PanelCreateBody.safeParse(body);
  if (!parsed.success) throw new ProvisionError(`invalid panel: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Registers a panel with the backend: `POST /api/v1/panels` with the admin token. Returns the
 * validated registration (the only time the backend shows the panel's API key).
 * The HTTP client comes from the caller (timeouts, proxy, TLS settings).
 */
export async function registerPanel(http: Got, req: RegisterRequest): Promise<PanelRegistration> {
  const body = { data: validateCreateBody(req.body) };
  if (!req.adminToken) throw new ProvisionError('no admin token: pass --admin-token or set AIRPANEL_ADMIN_TOKEN');
  const url = panelsUrl(req.api);

  let res;
  try {
    res = await http.post(url, {
      json: body.data,
      headers: { authorization: `Bearer ${req.adminToken}`, accept: 'application/json' },
      responseType: 'text',
      throwHttpErrors: false,
      retry: { limit: 0 }, // a POST that may have succeeded is not retried blindly
      followRedirect: false,
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new ProvisionError(`cannot reach the backend at ${url.origin}: ${err.code ?? err.message}`);
  }

  const text = res.body;
  let json: unknown;
  try {
    json = text.length ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const apiError = ApiError.safeParse(json);
  const reason = apiError.success ? `${apiError.data.error.code}: ${apiError.data.error.message}` : `HTTP ${res.statusCode}`;

  if (res.statusCode === 409) {
    throw new ProvisionError(`panel id ${JSON.stringify(body.data.id ?? '')} is already registered (${reason}). ` +
      'Choose another --id, or rotate the existing panel\'s key in the back office instead of registering it again.');
  }
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw new ProvisionError(`the backend refused the admin token (${reason})`);
  }
  if (res.statusCode !== 201 && res.statusCode !== 200) {
    throw new ProvisionError(`registration failed at ${url.href}: ${reason}`);
  }
  if (json === undefined) {
    throw new ProvisionError(`the backend answered ${res.statusCode} but not with JSON (is --api the Airpanel backend?)`);
  }
  const reg = PanelRegistration.safeParse(json);
  if (!reg.success) {
    throw new ProvisionError(`the backend's answer is not a panel registration: ${describeIssues(reg.error)}. ` +
      'Nothing was saved; check that the backend and this tool are the same version.');
  }
  if (body.data.id !== undefined && reg.data.panel.id !== body.data.id) {
    throw new ProvisionError(`asked for panel id ${body.data.id} but the backend registered ${reg.data.panel.id}`);
  }
  return reg.data;
}

/** `GET /api/v1/panels/{id}`: what the backend last heard from a panel (admin token). */
export async function fetchPanelStatus(http: Got, api: string, adminToken: string, panelId: string): Promise<PanelSummary> {
  if (!adminToken) throw new ProvisionError('no admin token: pass --admin-token or set AIRPANEL_ADMIN_TOKEN');
  const url = new URL(`${panelsUrl(api).pathname}/${encodeURIComponent(panelId)}`, panelsUrl(api).origin);
  let res;
  try {
    res = await http.get(url, {
      headers: { authorization: `Bearer ${adminToken}`, accept: 'application/json' },
      responseType: 'text', throwHttpErrors: false, retry: { limit: 1 }, followRedirect: false,
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new ProvisionError(`cannot reach the backend at ${url.origin}: ${err.code ?? err.message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  if (res.statusCode === 404) throw new ProvisionError(`the backend has no panel ${panelId}`);
  if (res.statusCode === 401 || res.statusCode === 403) throw new ProvisionError('the backend refused the admin token');
  if (res.statusCode !== 200) {
    const apiError = ApiError.safeParse(json);
    throw new ProvisionError(`status of ${panelId} failed: ${apiError.success ? apiError.data.error.message : `HTTP ${res.statusCode}`}`);
  }
  const summary = PanelSummary.safeParse(json);
  if (!summary.success) throw new ProvisionError(`the backend's answer is not a panel status: ${describeIssues(summary.error)}`);
  return summary.data;
}
