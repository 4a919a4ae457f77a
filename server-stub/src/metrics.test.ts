import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PanelRegistration } from '@airpanel/contract';
import { apiPath, endpoints } from '@airpanel/contract/api';
import { fastifyUrl } from './http/router.js';
import { BackendMetrics, HTTP_DURATION_BUCKETS, RouteDurationHistogram } from './metrics.js';
import { useTestBackend } from './test-support.js';

/** The route label of the display operation (its fastify URL). */
const DISPLAY = fastifyUrl(endpoints.getDisplay.path);
const PANELS = endpoints.createPanel.path;

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
  const server = useTestBackend();

  it('counts every answer by method, route and status (304, 200, refusals, unmatched) and observes each duration', async () => {
    const backend = await server.start();
    const api = server.api;
    const admin = backend.adminToken;
    const created = await api('createPanel', { token: admin, body: { id: 'panel-m', name: 'Metrics panel' } });
    expect(created.status, created.text).toBe(201);
    const key = PanelRegistration.parse(created.json).apiKey;

    const display = { params: { panelId: 'panel-m' } };
    const first = await api('getDisplay', { ...display, token: key });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    for (let i = 0; i < 3; i++) {
      expect((await api('getDisplay', { ...display, token: key, headers: { 'if-none-match': etag } })).status).toBe(304);
    }
    expect((await api('getDisplay', display)).status).toBe(401);
    expect((await api('getDisplay', { ...display, token: 'apk_not-a-key-of-any-panel' })).status).toBe(401);
    expect((await api('getDisplay', { params: { panelId: 'panel-other' }, token: key })).status).toBe(403);
    expect((await api('getDisplay', { params: { panelId: 'Not An Id' }, token: admin })).status).toBe(400);
    expect((await api('createPanel', { token: admin, rawBody: '{"id":' })).status).toBe(400);
    expect((await api({ method: 'GET', path: apiPath('/no-such-route') }, { token: admin })).status).toBe(404);

    const text = (await api('getMetrics')).text;
    const count = (method: string, route: string, status: number) =>
      sample(text, `airpanel_http_requests_total{method="${method}",route="${route}",status="${status}"}`);
    expect(count('GET', DISPLAY, 200)).toBe(1);
    expect(count('GET', DISPLAY, 304)).toBe(3);
    expect(count('GET', DISPLAY, 401)).toBe(2);
    expect(count('GET', DISPLAY, 403)).toBe(1);
    expect(count('GET', DISPLAY, 400)).toBe(1);
    expect(count('POST', PANELS, 201)).toBe(1);
    expect(count('POST', PANELS, 400)).toBe(1);
    expect(count('GET', 'unmatched', 404)).toBe(1);
    // Every counted request was observed once by the duration histogram of its route.
    expect(sample(text, `airpanel_http_request_duration_seconds_count{route="${DISPLAY}"}`)).toBe(8);
    expect(sample(text, `airpanel_http_request_duration_seconds_bucket{le="+Inf",route="${DISPLAY}"}`)).toBe(8);
    expect(sample(text, `airpanel_http_request_duration_seconds_count{route="${PANELS}"}`)).toBe(2);
    expect(sample(text, 'airpanel_http_request_duration_seconds_count{route="unmatched"}')).toBe(1);
    expect(sample(text, `airpanel_http_request_duration_seconds_sum{route="${DISPLAY}"}`)).toBeGreaterThan(0);
    // Routes not requested yet have no series (as with prom-client), and the scrape counts itself afterwards.
    expect(text).not.toContain(`route="${endpoints.listSensorSources.path}"`);
    expect(text).not.toContain(`route="${endpoints.getMetrics.path}"`);
    const again = (await api('getMetrics')).text;
    expect(sample(again, `airpanel_http_requests_total{method="GET",route="${endpoints.getMetrics.path}",status="200"}`)).toBe(1);
    expect(sample(again, `airpanel_http_requests_total{method="GET",route="${DISPLAY}",status="304"}`)).toBe(3);
  });
});
