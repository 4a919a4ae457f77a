import { createHash } from 'node:crypto';
import {
  averageConcentrations,
  averagingHorizonMs,
  type AveragingRule,
  EAQI_AVERAGING,
  type PanelReading,
  panelReadingSource,
  Reading,
} from '@airpanel/contract';
import type { Clock } from '../clock.js';
import { ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PanelService } from '../panels/service.js';
import type { ReadingService } from '../readings/service.js';
import type { SensorSourceService } from '../sensors/sources.js';
import type { PanelReadingStore, StoredPanelReading } from './store.js';

/** A reading dated further ahead of the backend's clock than this is refused (a wrong panel clock). */
const MAX_FUTURE_SKEW_MS = 10 * 60_000;

export interface PanelReadingsServiceOptions {
  store: PanelReadingStore;
  panels: PanelService;
  sensorSources: SensorSourceService;
  readings: ReadingService;
  clock: Clock;
  logger: Logger;
  /** The EAQI rule by default; tests shorten it. */
  averaging?: AveragingRule;
}

/** The sensor source that carries a panel's own readings: `own-<panel id>` (hashed when too long). */
export function panelSourceId(panelId: string): string {
  const id = `own-${panelId}`;
  if (id.length <= 63) return id;
  return `own-${panelId.slice(0, 46)}-${createHash('sha256').update(panelId).digest('hex').slice(0, 12)}`;
}

/**
 * Readings sent back by panels' own sensors. Each is recorded once (by its id), synchronously,
 * before the broker acknowledges it to the panel (the gateways hand messages over before they
 * send the PUBACK), so an acknowledged reading is on disk. Then the panel's source of kind
 * `panel` gets the averaged values (EAQI rule, as the panel computes them) as its reading, and
 * the level and documents follow as for any source.
 */
export class PanelReadingsService {
  private readonly rule: AveragingRule;
  private readonly pending = new Set<Promise<void>>();
  /** Sources known to exist: looked up once, not per reading. */
  private readonly knownSources = new Set<string>();

  constructor(private readonly o: PanelReadingsServiceOptions) {
    this.rule = o.averaging ?? EAQI_AVERAGING;
  }

  record(panelId: string, reading: PanelReading): void {
    const measuredAtMs = Date.parse(reading.measuredAt);
    if (measuredAtMs > this.o.clock.now() + MAX_FUTURE_SKEW_MS) {
      this.o.logger.warn('panel reading from the future refused', { panelId, id: reading.id, measuredAt: reading.measuredAt });
      return;
    }
    if (!this.o.store.insert(reading, this.o.clock.now())) {
      this.o.logger.debug('panel reading already recorded', { panelId, id: reading.id, seq: reading.seq });
      return;
    }
    const sourceId = this.ensureSource(panelId, reading);
    const averaged = averageConcentrations(
      this.o.store.valuesBetween(panelId, measuredAtMs - averagingHorizonMs(this.rule), measuredAtMs),
      measuredAtMs,
      this.rule,
    );
    if (!averaged.values) return; // not enough coverage yet: the panel's level is not decided by it
    const level = Reading.parse({
      measuredAt: reading.measuredAt,
      source: panelReadingSource(panelId, reading.sensor),
      values: averaged.values,
    });
    const work = this.o.readings.record(sourceId, level).catch((error: unknown) => {
      this.knownSources.delete(sourceId); // deleted by an operator meanwhile: look again next time
      this.o.logger.error('recording a panel reading for its level failed', { panelId, error: (error as Error).message });
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /**
   * The panel's `panel` source, created at its first reading; a panel without any source is
   * assigned to it (one with another source keeps it: the operator chooses).
   */
  private ensureSource(panelId: string, reading: PanelReading): string {
    const id = panelSourceId(panelId);
    if (this.knownSources.has(id)) return id;
    if (!this.sourceExists(id)) {
      this.o.sensorSources.create({
        id,
        name: `Own sensor of ${panelId} (${reading.sensor})`.slice(0, 120),
        spec: { kind: 'panel', panelId },
      });
      this.o.logger.info('panel sensor source created', { panelId, sourceId: id });
      if (this.o.panels.require(panelId).sensorSourceId === null) this.o.panels.update(panelId, { sensorSourceId: id });
    }
    this.knownSources.add(id);
    return id;
  }

  private sourceExists(id: string): boolean {
    try {
      this.o.sensorSources.get(id);
      return true;
    } catch (error) {
      if (error instanceof ServiceError && error.kind === 'not-found') return false;
      throw error;
    }
  }

  recorded(panelId: string, ids: readonly string[]): string[] {
    this.o.panels.require(panelId);
    return this.o.store.recorded(panelId, ids);
  }

  list(panelId: string, afterSeq: number, limit: number): StoredPanelReading[] {
    this.o.panels.require(panelId); // 404 for an unknown panel
    return this.o.store.list(panelId, afterSeq, limit);
  }

  /** Waits for level re-evaluations in flight (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
