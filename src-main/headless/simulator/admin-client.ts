import { ApiError, CommandBody, CommandRecord, ReadingBody, type CommandAckStatus, type CommandKind, type PollutantValues } from '@airpanel/contract';
import type { SimulatorAdmin } from './simulator-controls.js';

export interface AdminClientOptions {
  /** The backend's base URL, e.g. http://127.0.0.1:8080 (its admin API is below /api/v1). */
  apiBaseUrl: string;
  adminToken: string;
  panelId: string;
  /** The simulated sensor source the panel reads (it takes readings posted by hand). */
  sensorSourceId: string;
  timeoutMs?: number;
}

/**
 * The backend admin calls the simulator makes, with the admin token, from the server side
 * (Node's fetch): `POST /api/v1/sensors/{id}/readings`, `POST /api/v1/panels/{id}/commands`
 * and `GET /api/v1/panels/{id}/commands/{commandId}` (its acks). Bodies are checked with the contract's schemas
 * before they leave, answers before they are believed.
 */
export class BackendAdminClient implements SimulatorAdmin {
  constructor(private readonly o: AdminClientOptions) {}

  async setReading(values: PollutantValues): Promise<void> {
    const body = ReadingBody.parse({ values });
    await this.post(`/api/v1/sensors/${encodeURIComponent(this.o.sensorSourceId)}/readings`, body);
  }

  async sendCommand(kind: CommandKind): Promise<string> {
    const body = CommandBody.parse({ kind });
    const answer = await this.post(`/api/v1/panels/${encodeURIComponent(this.o.panelId)}/commands`, body);
    const record = CommandRecord.safeParse(answer);
    if (!record.success) throw new Error('the backend answered the command with something that is not a command record');
    return record.data.id;
  }

  async commandAcks(id: string): Promise<{ status: CommandAckStatus; detail: string | null }[]> {
    const answer = await this.request('GET', `/api/v1/panels/${encodeURIComponent(this.o.panelId)}/commands/${encodeURIComponent(id)}`);
    const record = CommandRecord.safeParse(answer);
    if (!record.success) throw new Error('the backend answered with something that is not a command record');
    return record.data.acks.map((a) => ({ status: a.status, detail: a.detail }));
  }

  private post(path: string, body: unknown): Promise<unknown> {
    return this.request('POST', path, body);
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.o.apiBaseUrl);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.o.adminToken}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 5_000),
      });
    } catch (err) {
      throw new Error(`backend unreachable at ${url.origin}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = ApiError.safeParse(json);
      throw new Error(`backend refused ${path}: ${e.success ? `${e.data.error.code}: ${e.data.error.message}` : `HTTP ${res.status}`}`);
    }
    return json;
  }
}
