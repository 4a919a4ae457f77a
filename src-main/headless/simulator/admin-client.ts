import { type CommandAckStatus, type CommandKind, type PollutantValues } from '@airpanel/contract';
import { ApiCallError, createApiClient, createFetchTransport, type ApiTransport, type BackendApiClient } from '@airpanel/contract/api';
import type { SimulatorAdmin } from './simulator-controls.js';

export interface AdminClientOptions {
  /** The backend's base URL, e.g. http://127.0.0.1:8080 (its versioned API root is accepted too). */
  apiBaseUrl: string;
  adminToken: string;
  panelId: string;
  /** The simulated sensor source the panel reads (it takes readings posted by hand). */
  sensorSourceId: string;
  timeoutMs?: number;
  /** Default: Node's fetch. */
  transport?: ApiTransport;
}

/**
 * The backend admin calls the simulator makes, with the admin token, from the server side,
 * through the typed API client: a reading for the simulated sensor (`postReading`), a command
 * (`sendCommand`) and its acks (`getCommand`). Bodies are checked with the contract's schemas
 * before they leave, answers before they are believed.
 */
export class BackendAdminClient implements SimulatorAdmin {
  private readonly api: BackendApiClient;

  constructor(private readonly o: AdminClientOptions) {
    this.api = createApiClient({
      baseUrl: o.apiBaseUrl,
      credentials: { bearer: o.adminToken },
      transport: o.transport ?? createFetchTransport(),
      timeoutMs: o.timeoutMs ?? 5_000,
    });
  }

  async setReading(values: PollutantValues): Promise<void> {
    await this.backend(this.api.call('postReading', { params: { sensorId: this.o.sensorSourceId }, body: { values } }));
  }

  async sendCommand(kind: CommandKind): Promise<string> {
    const record = await this.backend(this.api.call('sendCommand', { params: { panelId: this.o.panelId }, body: { kind } }));
    return record.id;
  }

  async commandAcks(id: string): Promise<{ status: CommandAckStatus; detail: string | null }[]> {
    const record = await this.backend(this.api.call('getCommand', { params: { panelId: this.o.panelId, commandId: id } }));
    return record.acks.map((a) => ({ status: a.status, detail: a.detail }));
  }

  /** The simulator shows these messages to a person: what the backend said, in one line. */
  private async backend<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (!(error instanceof ApiCallError)) throw error;
      if (error.kind === 'transport') throw new Error(`backend unreachable at ${this.api.baseUrl}: ${error.message}`);
      if (error.kind !== 'refused') throw new Error(error.message);
      const reason = error.serverError ? `${error.serverError.code}: ${error.serverError.message}` : `HTTP ${error.status}`;
      throw new Error(`backend refused ${error.operationId}: ${reason}`);
    }
  }
}
