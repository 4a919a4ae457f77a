import { PanelCreateBody, type PanelRegistration, type PanelSummary } from '@airpanel/contract';
import {
  ApiCallError,
  createApiClient,
  endpoints,
  endpointUrl,
  serverRootOf,
  type ApiTransport,
  type BackendApiClient,
} from '@airpanel/contract/api';
import { ProvisionError } from './errors.js';
import { describeIssues } from './panel-file.js';

/** How provisioning reaches the backend: the transport (fetch) and a deadline per request. */
export interface BackendHttp {
  transport: ApiTransport;
  timeoutMs: number;
}

export interface RegisterRequest {
  /** The backend's base URL, e.g. https://airpanel.example.org */
  api: string;
  adminToken: string;
  body: PanelCreateBody;
}

/** The server root named by `--api` (a versioned API root is accepted), or a ProvisionError. */
function serverRoot(api: string): string {
  try {
    return serverRootOf(api);
  } catch (e) {
    throw new ProvisionError(`--api ${(e as Error).message}`);
  }
}

/** The URL of `POST /api/v1/panels` below a base URL that may itself have a path. */
export function panelsUrl(api: string): URL {
  return new URL(endpointUrl(serverRoot(api), endpoints.createPanel));
}

function adminClient(http: BackendHttp, api: string, adminToken: string): BackendApiClient {
  if (!adminToken) throw new ProvisionError('no admin token: pass --admin-token or set AIRPANEL_ADMIN_TOKEN');
  return createApiClient({
    baseUrl: serverRoot(api),
    credentials: { bearer: adminToken },
    transport: http.transport,
    timeoutMs: http.timeoutMs,
  });
}

/** Validates what will be sent (the shared PanelCreateBody schema), with a readable error. */
export function validateCreateBody(body: unknown): PanelCreateBody {
  const parsed = PanelCreateBody.safeParse(body);
  if (!parsed.success) throw new ProvisionError(`invalid panel: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** `ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`…: what a technician can look up. */
function unreachable(client: BackendApiClient, error: ApiCallError): ProvisionError {
  const cause = error.details.transportFailure === 'timeout' ? 'ETIMEDOUT' : error.message.replace(/^.*?: no answer from \S+: /, '');
  return new ProvisionError(`cannot reach the backend at ${new URL(client.baseUrl).origin}: ${cause}`);
}

function serverReason(error: ApiCallError): string {
  return error.serverError ? `${error.serverError.code}: ${error.serverError.message}` : `HTTP ${error.status}`;
}

/**
 * Registers a panel with the backend (`createPanel`, admin token) through the typed API
 * client. Returns the validated registration (the only time the backend shows the panel's
 * API key). Not retried: a POST that may have succeeded is not sent twice blindly.
 */
export async function registerPanel(http: BackendHttp, req: RegisterRequest): Promise<PanelRegistration> {
  const body = validateCreateBody(req.body);
  const client = adminClient(http, req.api, req.adminToken);
  let registration: PanelRegistration;
  try {
    registration = await client.call('createPanel', { body });
  } catch (e) {
    if (!(e instanceof ApiCallError)) throw e;
    if (e.kind === 'transport') throw unreachable(client, e);
    if (e.kind === 'refused' && e.status === 409) {
      throw new ProvisionError(
        `panel id ${JSON.stringify(body.id ?? '')} is already registered (${serverReason(e)}). ` +
          "Choose another --id, or rotate the existing panel's key in the back office instead of registering it again.",
      );
    }
    if (e.kind === 'refused' && (e.status === 401 || e.status === 403))
      throw new ProvisionError(`the backend refused the admin token (${serverReason(e)})`);
    if (e.kind === 'refused') throw new ProvisionError(`registration failed at ${client.url('createPanel')}: ${serverReason(e)}`);
    if (e.details.notJson) throw new ProvisionError(`the backend answered ${e.status} but not with JSON (is --api the Airpanel backend?)`);
    if (e.details.issues) {
      throw new ProvisionError(
        `the backend's answer is not a panel registration: ${describeIssues({ issues: e.details.issues })}. ` +
          'Nothing was saved; check that the backend and this tool are the same version.',
      );
    }
    throw new ProvisionError(`registration failed at ${client.url('createPanel')}: ${e.message}`);
  }
  if (body.id !== undefined && registration.panel.id !== body.id) {
    throw new ProvisionError(`asked for panel id ${body.id} but the backend registered ${registration.panel.id}`);
  }
  return registration;
}

/** `getPanel`: what the backend last heard from a panel (admin token). A read: retried once when the backend is unreachable. */
export async function fetchPanelStatus(http: BackendHttp, api: string, adminToken: string, panelId: string): Promise<PanelSummary> {
  const client = adminClient(http, api, adminToken);
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.call('getPanel', { params: { panelId } });
    } catch (e) {
      if (!(e instanceof ApiCallError)) throw e;
      if (e.kind === 'transport' && attempt < 2) continue;
      if (e.kind === 'transport') throw unreachable(client, e);
      if (e.kind === 'invalid-request')
        throw new ProvisionError(`invalid panel id ${JSON.stringify(panelId)}: ${describeIssues({ issues: e.details.issues ?? [] })}`);
      if (e.status === 404) throw new ProvisionError(`the backend has no panel ${panelId}`);
      if (e.status === 401 || e.status === 403) throw new ProvisionError('the backend refused the admin token');
      if (e.kind === 'refused') throw new ProvisionError(`status of ${panelId} failed: ${e.serverError?.message ?? `HTTP ${e.status}`}`);
      throw new ProvisionError(
        `the backend's answer is not a panel status: ${e.details.issues ? describeIssues({ issues: e.details.issues }) : e.message}`,
      );
    }
  }
}
