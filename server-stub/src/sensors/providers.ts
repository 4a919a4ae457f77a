import { got, type Got } from 'got';
import { IsoDateTime, POLLUTANTS, PollutantValues, Reading } from '@airpanel/contract';
import type { Pollutant, SensorSource, SensorSpec } from '@airpanel/contract';

/**
 * Sensor providers: one per kind of sensor source, all behind one interface, so the refresh
 * loop neither knows nor cares where readings come from.
 */
export interface SensorProvider {
  readonly kind: SensorSpec['kind'];
  /** False for sources that are fed from outside (simulated): the refresh loop skips them. */
  readonly polled: boolean;
  /** Fetches the current reading; rejects with a message that says what went wrong. */
  fetch(source: SensorSource, signal: AbortSignal): Promise<Reading>;
}

export class SensorFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SensorFetchError';
  }
}

/** Readings are posted through the admin API; nothing to poll. */
export class SimulatedSensorProvider implements SensorProvider {
  readonly kind = 'simulated';
  readonly polled = false;
  fetch(source: SensorSource): Promise<Reading> {
    return Promise.reject(new SensorFetchError(`sensor source ${source.id} is simulated: post its readings to the API`));
  }
}

/** Readings arrive from the panel itself, over MQTT (server-stub/src/panel-readings); nothing to poll. */
export class PanelSensorProvider implements SensorProvider {
  readonly kind = 'panel';
  readonly polled = false;
  fetch(source: SensorSource): Promise<Reading> {
    return Promise.reject(new SensorFetchError(`sensor source ${source.id} is a panel's own sensor: its readings come from the panel`));
  }
}

export interface HttpJsonProviderOptions {
  /** The HTTP client (a got instance); tests pass one as they like. */
  http?: Got;
  clock?: { now(): number };
  /** First retry delay; each further retry waits twice as long. */
  retryBaseDelayMs?: number;
  /** A vendor answer bigger than this is cut off and counted as a failure. */
  maxResponseBytes?: number;
}

/** A measurement time further than this in the future is a vendor clock error, not data. */
const MAX_FUTURE_SKEW_MS = 10 * 60_000;

/**
 * Polls a vendor URL that answers JSON and maps fields to pollutants (HttpJsonSensorSpec).
 * Timeouts and retries (with exponential backoff) come from the source's spec; values are
 * validated against the contract so sensor garbage never reaches a level decision.
 */
export class HttpJsonSensorProvider implements SensorProvider {
  readonly kind = 'http-json';
  readonly polled = true;
  private readonly http: Got;
  private readonly clock: { now(): number };
  private readonly retryBaseDelayMs: number;
  private readonly maxResponseBytes: number;

  constructor(options: HttpJsonProviderOptions = {}) {
    this.http = options.http ?? got;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
  }

  async fetch(source: SensorSource, signal: AbortSignal): Promise<Reading> {
    const spec = source.spec;
    if (spec.kind !== 'http-json') throw new SensorFetchError(`sensor source ${source.id} is not http-json`);
    const base = this.retryBaseDelayMs;
    let body: unknown;
    try {
      const request = this.http.get(spec.url, {
        headers: { accept: 'application/json', ...spec.headers },
        timeout: { request: spec.timeoutMs },
        retry: {
          limit: spec.retries,
          methods: ['GET'],
          // got computes 0 when the error is not worth retrying (e.g. 404); keep that.
          calculateDelay: ({ attemptCount, computedValue }) => (computedValue === 0 ? 0 : base * 2 ** (attemptCount - 1)),
        },
        signal,
        followRedirect: false,
        responseType: 'text',
      });
      request.on('downloadProgress', (progress: { transferred: number }) => {
        if (progress.transferred > this.maxResponseBytes) request.cancel(`answer larger than ${this.maxResponseBytes} bytes`);
      });
      const response = await request;
      body = JSON.parse(response.body);
    } catch (error) {
      throw new SensorFetchError(`sensor source ${source.id}: ${describeHttpError(error)}`);
    }
    return readingFromJson(source, spec, body, this.clock.now());
  }
}

function describeHttpError(error: unknown): string {
  if (error instanceof SyntaxError) return `the answer is not JSON (${error.message})`;
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** Follows a dotted path (`data.pm25`, `sensors.0.value`) through objects and arrays. */
export function valueAtPath(json: unknown, dottedPath: string): unknown {
  let node: unknown = json;
  for (const key of dottedPath.split('.')) {
    if (Array.isArray(node)) {
      if (!/^[0-9]+$/.test(key)) return undefined;
      node = node[Number(key)];
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, key)) {
      node = (node as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return node;
}

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  // Many vendors send numbers as strings ("12.5").
  if (typeof value === 'string' && /^\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$/.test(value)) return Number(value);
  return null;
}

/**
 * Turns a vendor's JSON into a Reading. A mapped field that is absent is skipped (vendors
 * leave out what a station does not measure); a field that is present but not a valid
 * concentration rejects the whole reading, since it says the data cannot be trusted.
 */
export function readingFromJson(
  source: SensorSource,
  spec: Extract<SensorSpec, { kind: 'http-json' }>,
  json: unknown,
  nowMs: number,
): Reading {
  const values: Partial<Record<Pollutant, number>> = {};
  for (const pollutant of POLLUTANTS) {
    const fieldPath = spec.fieldMap[pollutant];
    if (!fieldPath) continue;
    const raw = valueAtPath(json, fieldPath);
    if (raw === undefined || raw === null) continue;
    const value = toNumber(raw);
    if (value === null)
      throw new SensorFetchError(
        `sensor source ${source.id}: field ${fieldPath} (${pollutant}) is not a number: ${JSON.stringify(raw).slice(0, 80)}`,
      );
    values[pollutant] = value;
  }
  const checked = PollutantValues.safeParse(values);
  if (!checked.success) {
    const reason =
      Object.keys(values).length === 0
        ? 'none of the mapped fields is present'
        : checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new SensorFetchError(`sensor source ${source.id}: invalid values (${reason})`);
  }
  let measuredAtMs = nowMs;
  if (spec.measuredAtField) {
    const raw = valueAtPath(json, spec.measuredAtField);
    const parsed = parseMeasuredAt(raw);
    if (parsed === null)
      throw new SensorFetchError(
        `sensor source ${source.id}: field ${spec.measuredAtField} is not an ISO 8601 time or epoch seconds: ${JSON.stringify(raw)?.slice(0, 80)}`,
      );
    if (parsed > nowMs + MAX_FUTURE_SKEW_MS)
      throw new SensorFetchError(`sensor source ${source.id}: measurement time ${new Date(parsed).toISOString()} is in the future`);
    measuredAtMs = parsed;
  }
  return Reading.parse({ measuredAt: new Date(measuredAtMs).toISOString(), source: source.name, values: checked.data });
}

function parseMeasuredAt(raw: unknown): number | null {
  if (typeof raw === 'string' && IsoDateTime.safeParse(raw).success) return Date.parse(raw);
  const seconds = toNumber(raw);
  if (seconds !== null && seconds > 0 && seconds < 1e11) return Math.round(seconds * 1000);
  return null;
}

export type ProviderRegistry = Record<SensorSpec['kind'], SensorProvider>;

export function defaultProviders(options: HttpJsonProviderOptions = {}): ProviderRegistry {
  return { simulated: new SimulatedSensorProvider(), 'http-json': new HttpJsonSensorProvider(options), panel: new PanelSensorProvider() };
}
