import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

/** Upper bounds (seconds) of the HTTP request duration histogram. */
export const HTTP_DURATION_BUCKETS: readonly number[] = Object.freeze([0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]);

/** One (method, route, status) series of the request counter: requests not yet handed to prom-client. */
interface RequestCountCell {
  readonly labels: { method: string; route: string; status: string };
  pending: number;
}

/** One route's series of the duration histogram. */
class DurationSeries {
  /** Observations per bucket, not cumulative; the last slot counts those above the highest bound. */
  readonly perBucket: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly route: string,
    private readonly bounds: readonly number[],
  ) {
    this.perBucket = new Array<number>(bounds.length + 1).fill(0);
  }

  reset(): void {
    this.perBucket.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.perBucket[i]! += 1;
    this.sum += seconds;
    this.count += 1;
  }
}

/**
 * The request duration histogram, by route: a registry member of its own that produces what a
 * prom-client Histogram with the label `route` produces (cumulative `_bucket` series with `le`,
 * `+Inf`, `_sum`, `_count`), but records an observation by adding plain numbers to the series
 * found once per route. prom-client's Histogram builds, validates and hashes a label object and
 * looks its buckets up by float-valued property keys on every observation: that was most of
 * the cost of the metrics on the request path.
 */
export class RouteDurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['route'] as const;
  private readonly series = new Map<string, DurationSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    // The registry only needs name, get() and reset(); prom-client's type lists its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one route, created (at zero) on first use; keep it to observe without a lookup. */
  route(route: string): DurationSeries {
    let series = this.series.get(route);
    if (!series) {
      series = new DurationSeries(route, this.buckets);
      this.series.set(route, series);
    }
    return series;
  }

  observe(labels: { route: string }, seconds: number): void {
    this.route(labels.route).observe(seconds);
  }

  /** Zeroes every series in place (holders of a series keep recording into it). */
  reset(): void {
    for (const s of this.series.values()) s.reset();
  }

  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      // Like prom-client: a series appears once it has an observation (routes are set up at start).
      if (s.count === 0) continue;
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.perBucket[i]!;
        values.push({ labels: { le, route: s.route }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { le: '+Inf', route: s.route }, value: s.count, metricName: `${this.name}_bucket` },
        { labels: { route: s.route }, value: s.sum, metricName: `${this.name}_sum` },
        { labels: { route: s.route }, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

/**
 * What the HTTP server records per answered request, for one route: found once (per route,
 * not per request), so that recording is two small map lookups by method and status code and
 * a few additions, with no allocation once every (method, status) pair has been seen.
 * The counts reach the prom-client counter when the registry is read.
 */
export class HttpRouteMetrics {
  private readonly byMethod = new Map<string, Map<number, RequestCountCell>>();

  constructor(
    readonly route: string,
    private readonly duration: DurationSeries,
    private readonly cells: RequestCountCell[],
  ) {}

  record(method: string, status: number, seconds: number): void {
    let byStatus = this.byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      this.byMethod.set(method, byStatus);
    }
    let cell = byStatus.get(status);
    if (!cell) {
      cell = { labels: { method, route: this.route, status: String(status) }, pending: 0 };
      byStatus.set(status, cell);
      this.cells.push(cell);
    }
    cell.pending += 1;
    this.duration.observe(seconds);
  }
}

/**
 * The backend's Prometheus metrics, on a registry of its own (not prom-client's global one),
 * so several backends in one process (tests) do not collide.
 */
export class BackendMetrics {
  readonly registry = new Registry();
  /** Every (method, route, status) cell of httpRoute(…), flushed into httpRequests when read. */
  private readonly httpCountCells: RequestCountCell[] = [];
  private readonly httpRoutes = new Map<string, HttpRouteMetrics>();
  /** Fed by httpRoute(…).record(…); read it through the registry (or get()), which brings it up to date. */
  readonly httpRequests = new Counter({
    name: 'airpanel_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
    collect: () => {
      for (const cell of this.httpCountCells) {
        if (cell.pending === 0) continue;
        const n = cell.pending;
        cell.pending = 0;
        this.httpRequests.inc(cell.labels, n);
      }
    },
  });
  readonly httpDuration = new RouteDurationHistogram(
    'airpanel_http_request_duration_seconds',
    'Time to answer an HTTP request, by route',
    HTTP_DURATION_BUCKETS,
    this.registry,
  );
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

  /**
   * The request metrics of one route (its path pattern, or 'unmatched'): look it up once and
   * keep it; `record(method, status, seconds)` then counts a request and observes its duration.
   */
  httpRoute(route: string): HttpRouteMetrics {
    let metrics = this.httpRoutes.get(route);
    if (!metrics) {
      metrics = new HttpRouteMetrics(route, this.httpDuration.route(route), this.httpCountCells);
      this.httpRoutes.set(route, metrics);
    }
    return metrics;
  }
}
