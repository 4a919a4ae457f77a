import type { Got } from 'got';
import { z } from 'zod';
import { Concentration, type PollutantValues } from '@airpanel/contract';
import type { Scheduler, TimerHandle } from '../clock.js';
import type { SensorDriver, SensorSink } from './driver.js';

/** A node's data.json is a few hundred bytes; anything this large is not one. */
export const AIRROHR_MAX_BYTES = 64 * 1024;

/**
 * The local `data.json` of a Sensor.Community ("airrohr") node (firmware NRZ-20xx):
 * `{"software_version": "...", "age": "37", "sensordatavalues": [{"value_type": "SDS_P1",
 * "value": "12.30"}, ...]}`. Values are strings; `P1` is PM10 and `P2` is PM2.5 for every
 * particulate sensor the firmware supports (SDS, PMS, HPM, SPS30, NPM).
 */
export const AirrohrData = z.object({
  software_version: z.string().max(100).optional(),
  age: z.union([z.string().max(20), z.number()]).optional(),
  sensordatavalues: z.array(z.object({ value_type: z.string().max(64), value: z.union([z.string().max(64), z.number()]) })).max(200),
});
export type AirrohrData = z.infer<typeof AirrohrData>;

const PM10_SUFFIX = /^(SDS|PMS|HPM|SPS30|NPM)_P1$/;
const PM25_SUFFIX = /^(SDS|PMS|HPM|SPS30|NPM)_P2$/;

/** PM values of a data.json, or a reason why there are none. */
export function airrohrValues(data: AirrohrData): { ok: true; values: PollutantValues } | { ok: false; reason: string } {
  const values: PollutantValues = {};
  for (const { value_type: type, value } of data.sensordatavalues) {
    const pollutant = PM10_SUFFIX.test(type) ? 'pm10' : PM25_SUFFIX.test(type) ? 'pm25' : null;
    if (!pollutant || values[pollutant] !== undefined) continue;
    const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
    const checked = Concentration.safeParse(n);
    if (!checked.success) return { ok: false, reason: `${type} is not a concentration: ${JSON.stringify(value).slice(0, 40)}` };
    values[pollutant] = checked.data;
  }
  if (values.pm25 === undefined && values.pm10 === undefined)
    return { ok: false, reason: 'no particulate values (SDS_P1/SDS_P2…) in data.json' };
  if (values.pm25 !== undefined && values.pm10 !== undefined && values.pm25 > values.pm10 + 1) {
    return { ok: false, reason: `PM2.5 ${values.pm25} above PM10 ${values.pm10}` };
  }
  return { ok: true, values };
}

export interface AirrohrSensorOptions {
  url: string;
  pollMs: number;
  http: Got;
  scheduler: Scheduler;
  timeoutMs?: number;
}

/**
 * Polls a Sensor.Community node on the panel's network. One request at a time, a timeout, the
 * answer cut at AIRROHR_MAX_BYTES while downloading, no retries (the next poll is the retry).
 */
export class AirrohrSensor implements SensorDriver {
  readonly kind = 'airrohr' as const;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private inFlight: AbortController | null = null;

  constructor(private readonly o: AirrohrSensorOptions) {}

  start(sink: SensorSink): void {
    void this.poll(sink);
  }

  private async poll(sink: SensorSink): Promise<void> {
    if (this.stopped) return;
    const abort = new AbortController();
    this.inFlight = abort;
    try {
      const body = await this.fetch(abort.signal);
      if (this.stopped) return;
      sink.reachable();
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        sink.invalid('data.json is not JSON');
        return;
      }
      const parsed = AirrohrData.safeParse(json);
      if (!parsed.success) {
        sink.invalid(`data.json unexpected: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
        return;
      }
      const values = airrohrValues(parsed.data);
      if (values.ok) sink.sample(values.values);
      else sink.invalid(values.reason);
    } catch (err) {
      if (!this.stopped) sink.unreachable(`${this.o.url}: ${(err as Error).message}`);
    } finally {
      this.inFlight = null;
      if (!this.stopped) this.timer = this.o.scheduler.setTimeout(() => void this.poll(sink), this.o.pollMs);
    }
  }

  private async fetch(signal: AbortSignal): Promise<string> {
    const stream = this.o.http.stream(this.o.url, {
      timeout: { request: this.o.timeoutMs ?? 10_000 },
      retry: { limit: 0 },
      signal,
      headers: { accept: 'application/json' },
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > AIRROHR_MAX_BYTES) {
        stream.destroy();
        throw new Error(`answer larger than ${AIRROHR_MAX_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.scheduler.clearTimeout(this.timer);
    this.timer = null;
    this.inFlight?.abort();
  }
}
