import { Reading, type ReadingBody, type SensorSource } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { DocumentIssuer } from '../documents/issuer.js';
import { ServiceError } from '../errors.js';
import type { BackendMetrics } from '../metrics.js';
import type { PanelStore } from '../panels/store.js';
import type { ReadingStore } from './store.js';

/** Tolerated lead of a posted reading's time over the backend's clock. */
const MAX_READING_CLOCK_SKEW_MS = 10 * 60_000;

export interface ReadingServiceOptions {
  readings: ReadingStore;
  sources: { get(id: string): SensorSource };
  panels: PanelStore;
  issuer: DocumentIssuer;
  clock: Clock;
  metrics: BackendMetrics;
}

/** Readings of sensor sources: fetched by the refresh loop, posted for simulated sources, averaged from panels' own. */
export class ReadingService {
  constructor(private readonly o: ReadingServiceOptions) {}

  /** A reading posted by an operator or simulator; only simulated sources take them. */
  async post(sourceId: string, body: ReadingBody): Promise<Reading> {
    const source = this.o.sources.get(sourceId);
    if (source.spec.kind !== 'simulated') {
      throw new ServiceError(
        'conflict',
        'not-simulated',
        `sensor source "${sourceId}" is ${source.spec.kind}: its readings come from its vendor, not from the API`,
      );
    }
    // A reading from the future would stay "the latest" and hide every real one after it.
    if (body.measuredAt && Date.parse(body.measuredAt) > this.o.clock.now() + MAX_READING_CLOCK_SKEW_MS) {
      throw new ServiceError(
        'bad-request',
        'reading-in-future',
        `measuredAt ${body.measuredAt} is in the future (more than ${MAX_READING_CLOCK_SKEW_MS / 60_000} minutes ahead of the backend's clock)`,
      );
    }
    const reading = Reading.parse({
      measuredAt: body.measuredAt ?? new Date(this.o.clock.now()).toISOString(),
      source: source.name,
      values: body.values,
    });
    await this.record(sourceId, reading);
    return reading;
  }

  /**
   * Stores a reading and, if it is the source's newest, re-evaluates the panels that use it
   * (a city may share one sensor across the fleet: see DocumentIssuer.reissueYielding).
   */
  async record(sourceId: string, reading: Reading): Promise<void> {
    const latest = this.o.readings.put(sourceId, reading);
    this.o.metrics.readingsRecorded.inc();
    if (latest) await this.o.issuer.reissueYielding(this.o.panels.idsUsing('sensor_source_id', sourceId), `new reading from ${sourceId}`);
  }

  list(sourceId: string, limit: number): Reading[] {
    this.o.sources.get(sourceId);
    return this.o.readings.list(sourceId, limit);
  }
}
