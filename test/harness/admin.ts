// The admin side of the real backend's REST API as tests and the dev stack call it, a reading
// feeder that keeps documents coming, and the backend's record of a panel's own readings.
import got, { type Got } from 'got';
import { PanelSummary, type PanelReading } from '@airpanel/contract';

/** The admin token every harness backend is started with (the dev stack may choose another). */
export const ADMIN_TOKEN = 'admin-token-for-the-test-harness-0123456789';

/** Admin calls against `<baseUrl>/api/v1` (the backend may be down: calls then throw). */
export class AdminApi {
  readonly http: Got;
  constructor(readonly baseUrl: string, readonly token = ADMIN_TOKEN) {
    this.http = got.extend({ prefixUrl: `${baseUrl}/api/v1`, headers: { authorization: `Bearer ${token}` }, retry: { limit: 0 }, timeout: { request: 3_000 } });
  }

  async postReading(sensorId: string, pm25: number): Promise<void> {
    await this.http.post(`sensors/${sensorId}/readings`, { json: { values: { pm25, pm10: 20 } } });
  }

  async panels(): Promise<PanelSummary[]> {
    return PanelSummary.array().parse(await this.http.get('panels').json());
  }

  async panel(id: string): Promise<PanelSummary> {
    return PanelSummary.parse(await this.http.get(`panels/${id}`).json());
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

  constructor(private readonly api: () => AdminApi | null, private readonly sensorId: string, private readonly everyMs = 250, private readonly maxReadings = 2_000) {}

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

export interface ReceivedReading {
  reading: PanelReading;
  receivedAt: string;
}

/** Every reading the backend recorded from the panel's own sensor, in seq order (paged). */
export async function backendReadings(api: AdminApi, panelId: string): Promise<ReceivedReading[]> {
  const all: ReceivedReading[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await api.http(`panels/${panelId}/sensor-readings`, {
      searchParams: { afterSeq, limit: 5_000 },
      timeout: { request: 5_000 },
    }).json<ReceivedReading[]>();
    all.push(...page);
    if (page.length < 5_000) return all;
    afterSeq = page.at(-1)!.reading.seq;
  }
}
