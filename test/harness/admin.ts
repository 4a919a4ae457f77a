// The admin side of the real backend's REST API as tests and the dev stack call it, a reading
// feeder that keeps documents coming, and the backend's record of a panel's own readings.
import got, { type Got } from 'got';
import type { PanelSummary } from '@airpanel/contract';
import {
  API_PREFIX,
  createApiClient,
  createFetchTransport,
  serverRootOf,
  type BackendApiClient,
  type StoredPanelReading,
} from '@airpanel/contract/api';

/** The admin token every harness backend is started with (the dev stack may choose another). */
export const ADMIN_TOKEN = 'admin-token-for-the-test-harness-0123456789';

const transport = createFetchTransport();

/** The contract's typed client for `baseUrl` (a server root or an API base) with a bearer: the admin token or a panel's key. */
function typedClient(baseUrl: string, bearer: string, timeoutMs = 3_000): BackendApiClient {
  return createApiClient({ baseUrl, credentials: { bearer }, transport, timeoutMs });
}

/** Admin calls against the backend at `baseUrl` (the backend may be down: calls then throw). */
export class AdminApi {
  /** The typed client with the admin token: every call a test makes goes through it. */
  readonly client: BackendApiClient;
  /**
   * got with the admin token below the API prefix: only for the boot suite's support, which
   * has not moved to `client` yet.
   */
  readonly http: Got;

  constructor(
    readonly baseUrl: string,
    readonly token = ADMIN_TOKEN,
  ) {
    this.client = typedClient(baseUrl, token);
    this.http = got.extend({
      prefixUrl: `${serverRootOf(baseUrl)}${API_PREFIX}`,
      headers: { authorization: `Bearer ${token}` },
      retry: { limit: 0 },
      timeout: { request: 3_000 },
    });
  }

  /** A client with a panel's key, against the same backend. */
  panelClient(apiKey: string): BackendApiClient {
    return typedClient(this.baseUrl, apiKey);
  }

  async postReading(sensorId: string, pm25: number): Promise<void> {
    await this.client.call('postReading', { params: { sensorId }, body: { values: { pm25, pm10: 20 } } });
  }

  panels(): Promise<PanelSummary[]> {
    return this.client.call('listPanels');
  }

  panel(panelId: string): Promise<PanelSummary> {
    return this.client.call('getPanel', { params: { panelId } });
  }
}

/**
 * Posts a new reading every `everyMs` so the backend issues a new document each time: what
 * keeps a panel live under a short freshness window while the backend is reachable. Errors
 * (backend down) are counted, not thrown. Stops by itself after `maxReadings`.
 */
export class ReadingFeeder {
  posted = 0;
  failed = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private n = 0;

  constructor(
    private readonly api: () => AdminApi | null,
    private readonly sensorId: string,
    private readonly everyMs = 250,
    private readonly maxReadings = 2_000,
  ) {}

  start(): this {
    const tick = async () => {
      if (this.stopped || this.n >= this.maxReadings) return;
      this.n += 1;
      const api = this.api();
      try {
        if (!api) throw new Error('no backend');
        // Values cycle so each document differs from the previous one.
        await api.postReading(this.sensorId, 5 + (this.n % 20));
        this.posted += 1;
      } catch {
        this.failed += 1;
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.everyMs);
    };
    void tick();
    return this;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

export type ReceivedReading = StoredPanelReading;

/** Every reading the backend recorded from the panel's own sensor, in seq order (paged). */
export async function backendReadings(api: AdminApi, panelId: string): Promise<ReceivedReading[]> {
  const all: ReceivedReading[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await api.client.call(
      'listPanelSensorReadings',
      { params: { panelId }, query: { afterSeq, limit: 5_000 } },
      { timeoutMs: 5_000, maxResponseBytes: 64 * 1024 * 1024 },
    );
    all.push(...page);
    if (page.length < 5_000) return all;
    afterSeq = page.at(-1)!.reading.seq;
  }
}
