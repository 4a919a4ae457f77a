import type { PanelConfig, PanelEvent, PanelSensorSettings } from '@airpanel/contract';
import type { Logger } from '@airpanel/node-support/logger';
import { panelApiClient } from './backend-api.js';
import type { MonotonicClock, Scheduler, WallClock } from './clock.js';
import type { Connected } from './core-lifecycle.js';
import type { CoreTuning, PanelCoreOptions } from './panel-core-options.js';
import { OwnMeasurement } from './sensor/own-measurement.js';

export interface OwnMeasurementWiring {
  config: PanelConfig;
  settings: PanelSensorSettings;
  /** The backend connection its readings go out on (MQTT events) and are confirmed over (HTTP). */
  connection: Connected;
  /** The core's options: data folder, HTTP client (already through the trust store), serial port and driver. */
  core: Pick<PanelCoreOptions, 'dataDir' | 'http' | 'openSerial' | 'sensorDriver'>;
  tuning: CoreTuning;
  wallClock: WallClock;
  monotonicClock: MonotonicClock;
  scheduler: Scheduler;
  logger: Logger;
  onChange: (own: OwnMeasurement) => void;
  publishStatus: () => void;
  reportEvent: (event: PanelEvent) => void;
}

/**
 * The panel's own sensor plugged into its backend connection: each reading is published on the
 * panel's events topic, and the backend is asked over HTTP which readings it recorded before
 * they leave the panel's queue. Not started: the core starts it once it runs.
 */
export function wireOwnMeasurement(w: OwnMeasurementWiring): OwnMeasurement {
  const { config, connection: c } = w;
  const own: OwnMeasurement = new OwnMeasurement({
    sensor: {
      panelId: config.panelId,
      settings: w.settings,
      dataDir: w.core.dataDir,
      http: w.core.http,
      openSerial: w.core.openSerial ?? (async (path, baud) => (await import('./sensor/serial-port.js')).openSerialPort(path, baud)),
      wallClock: w.wallClock,
      monotonicClock: w.monotonicClock,
      scheduler: w.scheduler,
      logger: w.logger,
      tuning: w.tuning.ownSensor,
      ...(w.core.sensorDriver ? { driver: w.core.sensorDriver } : {}),
      publish: (reading) =>
        c.link ? c.link.publish(c.topics.events, JSON.stringify({ type: 'sensor-reading', reading }), false) : Promise.resolve(false),
      confirm: (ids) => recordedReadings(w, ids),
    },
    wallClock: w.wallClock,
    logger: w.logger,
    onChange: () => w.onChange(own),
    publishStatus: w.publishStatus,
    reportEvent: w.reportEvent,
  });
  return own;
}

/** Which of these readings the backend recorded (null: it could not be asked, or its answer was not valid). */
async function recordedReadings(w: OwnMeasurementWiring, ids: string[]): Promise<string[] | null> {
  const api = panelApiClient({
    apiBaseUrl: w.config.endpoints.apiBaseUrl,
    apiKey: w.config.apiKey,
    http: w.core.http,
    timeoutMs: w.tuning.httpTimeoutMs,
  });
  try {
    const answer = await api.call('recordedPanelSensorReadings', { params: { panelId: w.config.panelId }, body: { ids } });
    return answer.recorded;
  } catch (err) {
    w.logger.info('recorded readings not confirmed now', { error: String(err).slice(0, 200) });
    return null;
  }
}
