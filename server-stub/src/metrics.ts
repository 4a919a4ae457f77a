import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The backend's Prometheus metrics, on a registry of its own (not prom-client's global one),
 * so several backends in one process (tests) do not collide.
 */
export class BackendMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'airpanel_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'airpanel_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  /** Set by the backend once the MQTT gateway exists; read at every scrape. */
  connectedPanelCount: () => number = () => 0;
  readonly mqttConnectedPanels: Gauge = new Gauge({
    name: 'airpanel_mqtt_connected_panels',
    help: 'Panels connected to the MQTT broker right now',
    registers: [this.registry],
    collect: () => {
      this.mqttConnectedPanels.set(this.connectedPanelCount());
    },
  });
  readonly refreshLag = new Gauge({
    name: 'airpanel_refresh_lag_seconds',
    help: 'How long the most overdue sensor source has been waiting for its fetch, at the last tick',
    registers: [this.registry],
  });
  readonly providerFailures = new Counter({
    name: 'airpanel_sensor_provider_failures_total',
    help: 'Failed sensor fetches, by provider kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly readingsRecorded = new Counter({
    name: 'airpanel_readings_recorded_total',
    help: 'Sensor readings stored',
    registers: [this.registry],
  });
  readonly documentsIssued = new Counter({
    name: 'airpanel_display_documents_issued_total',
    help: 'Display documents issued (each is a new revision)',
    registers: [this.registry],
  });
  readonly publishFailures = new Counter({
    name: 'airpanel_mqtt_publish_failures_total',
    help: 'Documents or commands that could not be handed to the MQTT broker',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
