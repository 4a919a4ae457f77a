import { Histogram, Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PanelRegistration } from '@airpanel/contract';
import type { Backend } from './backend.js';
import { BackendMetrics, HTTP_DURATION_BUCKETS, RouteDurationHistogram } from './metrics.js';
import { apiClient, makeTempDir, startTestBackend } from './test-support.js';

const DISPLAY = '/api/v1/panels/:panelId/display';

/** The value of one sample line of a Prometheus text exposition, or undefined when absent. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('request duration histogram', () => {
  it('exposes what a prom-client Histogram with the same observations exposes', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const name = 'airpanel_http_request_duration_seconds';
    const help = 'Time to answer an HTTP request, by route';
    const histogram = new RouteDurationHistogram(name, help, HTTP_DURATION_BUCKETS, ours);
    const reference = new Histogram({
      name,
      help,
      labelNames: ['route'] as const,
      buckets: [...HTTP_DURATION_BUCKETS],
      registers: [theirs],
    });
    // Bounds themselves (le is inclusive), values between them, above the last one, zero.
    const values = [0, 0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.01, 0.2, 1, 4.9, 5, 7, 120];
    for (const [i, v] of values.entries()) {
      const route = i % 3 === 0 ? '/a' : '/b/:id';
      histogram.observe({ route }, v);
      reference.observe({ route }, v);
    }
    histogram.route('/never-observed');
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // prom-client's JSON also carries `exemplar: null` per sample (exemplars are off): not data.
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === 'exemplar' && v === null ? undefined : v))) as unknown;
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));

    // A reset zeroes in place: a kept series records on, as prom-client's would after reset().
    const series = histogram.route('/a');
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    series.observe(0.002);
    reference.observe({ route: '/a' }, 0.002);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(() => series.observe(Number.NaN)).toThrow(TypeError);
  });

  it("counts requests recorded through a route's metrics once the registry is read, and only once", async () => {
    const metrics = new BackendMetrics();
    const display = metrics.httpRoute(DISPLAY);
    expect(metrics.httpRoute(DISPLAY)).toBe(display);
    display.record('GET', 304, 0.0002);
    display.record('GET', 304, 0.0003);
    display.record('GET', 200, 0.002);
    const first = await metrics.registry.metrics();
    expect(sample(first, `airpanel_http_requests_total{method="GET",route="${DISPLAY}",status="304"}`)).toBe(2);
    expect(sample(first, `airpanel_http_requests_total{method="GET",route="${DISPLAY}",status="200"}`)).toBe(1);
    expect(sample(first, `airpanel_http_request_duration_seconds_count{route="${DISPLAY}"}`)).toBe(3);
    expect(sample(first, `airpanel_http_request_duration_seconds_bucket{le="0.0005",route="${DISPLAY}"}`)).toBe(2);
    display.record('GET', 304, 0.0001);
    const second = await metrics.registry.metrics();
    expect(sample(second, `airpanel_http_requests_total{method="GET",route="${DISPLAY}",status="304"}`)).toBe(3);
    expect(sample(second, `airpanel_http_requests_total{method="GET",route="${DISPLAY}",status="200"}`)).toBe(1);
    expect((await metrics.httpRequests.get()).values.find((v) => v.labels.status === '304')?.value).toBe(3);
  });
});

describe('HTTP request metrics of the backend', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let backend: Backend | null = null;

  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(async () => {
    await backend?.close();
    backend = null;
    temp.remove();
  });

  it('counts every answer by method, route and status (304, 200, refusals, unmatched) and observes each duration', async () => {
    backend = await startTestBackend(temp.dir);
    const api = apiClient(backend.url);
    const admin = backend.adminToken;
    const created = await api('POST', '/api/v1/panels', { token: admin, body: { id: 'panel-m', name: 'Metrics panel' } });
    expect(created.status, created.text).toBe(201);
    const key = PanelRegistration.parse(created.json).apiKey;

    const first = await api('GET', '/api/v1/panels/panel-m/display', { token: key });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    for (let i = 0; i < 3; i++) {
      expect((await api('GET', '/api/v1/panels/panel-m/display', { token: key, headers: { 'if-none-match': etag } })).status).toBe(304);
    }
    expect((await api('GET', '/api/v1/panels/panel-m/display')).status).toBe(401);
    expect((await api('GET', '/api/v1/panels/panel-m/display', { token: 'apk_not-a-key-of-any-panel' })).status).toBe(401);
    expect((await api('GET', '/api/v1/panels/panel-other/display', { token: key })).status).toBe(403);
    expect((await api('GET', '/api/v1/panels/Not%20An%20Id/display', { token: admin })).status).toBe(400);
    expect((await api('POST', '/api/v1/panels', { token: admin, rawBody: '{"id":' })).status).toBe(400);
    expect((await api('GET', '/api/v1/no-such-route', { token: admin })).status).toBe(404);

    const text = (await api('GET', '/metrics')).text;
    const count = (method: string, route: string, status: number) =>
      sample(text, `airpanel_http_requests_total{method="${method}",route="${route}",status="${status}"}`);
    expect(count('GET', DISPLAY, 200)).toBe(1);
    expect(count('GET', DISPLAY, 304)).toBe(3);
    expect(count('GET', DISPLAY, 401)).toBe(2);
    expect(count('GET', DISPLAY, 403)).toBe(1);
    expect(count('GET', DISPLAY, 400)).toBe(1);
    expect(count('POST', '/api/v1/panels', 201)).toBe(1);
    expect(count('POST', '/api/v1/panels', 400)).toBe(1);
    expect(count('GET', 'unmatched', 404)).toBe(1);
    // Every counted request was observed once by the duration histogram of its route.
    expect(sample(text, `airpanel_http_request_duration_seconds_count{route="${DISPLAY}"}`)).toBe(8);
    expect(sample(text, `airpanel_http_request_duration_seconds_bucket{le="+Inf",route="${DISPLAY}"}`)).toBe(8);
    expect(sample(text, 'airpanel_http_request_duration_seconds_count{route="/api/v1/panels"}')).toBe(2);
    expect(sample(text, 'airpanel_http_request_duration_seconds_count{route="unmatched"}')).toBe(1);
    expect(sample(text, `airpanel_http_request_duration_seconds_sum{route="${DISPLAY}"}`)).toBeGreaterThan(0);
    // Routes not requested yet have no series (as with prom-client), and the scrape counts itself afterwards.
    expect(text).not.toContain('route="/api/v1/sensors"');
    expect(text).not.toContain('route="/metrics"');
    const again = (await api('GET', '/metrics')).text;
    expect(sample(again, 'airpanel_http_requests_total{method="GET",route="/metrics",status="200"}')).toBe(1);
    expect(sample(again, `airpanel_http_requests_total{method="GET",route="${DISPLAY}",status="304"}`)).toBe(3);
  });
});
