import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SensorSource } from '@airpanel/contract';
import { HttpJsonSensorProvider, readingFromJson, valueAtPath } from './providers.js';
import { VendorServer } from './vendor-server.test-support.js';

function httpSource(id: string, url: string, extra: Record<string, unknown> = {}): SensorSource {
  return SensorSource.parse({ id, name: `Vendor ${id}`, spec: { kind: 'http-json', url, fieldMap: { pm25: 'data.pm25' }, ...extra } });
}

describe('http-json sensor provider against a real loopback vendor', () => {
  const vendor = new VendorServer();
  const provider = new HttpJsonSensorProvider({ retryBaseDelayMs: 5 });
  const signal = new AbortController().signal;

  beforeAll(() => vendor.start());
  afterAll(() => vendor.close());

  it('maps nested fields, array indexes, numeric strings and the measurement time', async () => {
    vendor.json('/station', { data: { pm25: '12.5', list: [{ v: 3 }, { v: 41 }] }, ts: 1_767_225_600 });
    const source = httpSource('st-1', `${vendor.url}/station`, {
      fieldMap: { pm25: 'data.pm25', pm10: 'data.list.1.v', no2: 'data.absent' },
      measuredAtField: 'ts',
    });
    const reading = await provider.fetch(source, signal);
    expect(reading.values).toEqual({ pm25: 12.5, pm10: 41 });
    expect(reading.measuredAt).toBe('2026-01-01T00:00:00.000Z');
    expect(reading.source).toBe('Vendor st-1');
  });

  it('gives up after the timeout', async () => {
    vendor.json('/slow', { data: { pm25: 1 } }, { delayMs: 1_000 });
    const source = httpSource('st-slow', `${vendor.url}/slow`, { timeoutMs: 100, retries: 0 });
    await expect(provider.fetch(source, signal)).rejects.toThrow(/st-slow.*[Tt]imeout/);
  });

  it('retries failures and succeeds when the vendor recovers', async () => {
    vendor.handlers.set('/flaky', (_req, res, attempt) => {
      if (attempt < 3) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"pm25":7}}');
    });
    const reading = await provider.fetch(httpSource('st-flaky', `${vendor.url}/flaky`, { retries: 2 }), signal);
    expect(reading.values.pm25).toBe(7);
    expect(vendor.requests.get('/flaky')).toBe(3);
  });

  it('fails with a clear message on errors, non-JSON and garbage values', async () => {
    vendor.json('/down', { error: 'x' }, { status: 500 });
    await expect(provider.fetch(httpSource('st-down', `${vendor.url}/down`, { retries: 1 }), signal)).rejects.toThrow(/st-down.*500/);
    vendor.handlers.set('/html', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    await expect(provider.fetch(httpSource('st-html', `${vendor.url}/html`), signal)).rejects.toThrow(/not JSON/);
    vendor.json('/negative', { data: { pm25: -4 } });
    await expect(provider.fetch(httpSource('st-neg', `${vendor.url}/negative`), signal)).rejects.toThrow(/invalid values/);
    vendor.json('/empty', { data: {} });
    await expect(provider.fetch(httpSource('st-empty', `${vendor.url}/empty`), signal)).rejects.toThrow(/none of the mapped fields/);
  });
});

describe('field mapping', () => {
  it('follows only own keys and numeric indexes', () => {
    expect(valueAtPath({ a: [{ b: 1 }] }, 'a.0.b')).toBe(1);
    expect(valueAtPath({ a: [1] }, 'a.x')).toBeUndefined();
    expect(valueAtPath({}, 'constructor')).toBeUndefined();
    expect(valueAtPath({ a: null }, 'a.b')).toBeUndefined();
  });

  it('rejects non-numbers and future timestamps', () => {
    const source = httpSource('st-x', 'http://127.0.0.1:9/x', { measuredAtField: 'at' });
    const spec = source.spec as Extract<SensorSource['spec'], { kind: 'http-json' }>;
    const now = Date.parse('2026-03-01T00:00:00Z');
    expect(() => readingFromJson(source, spec, { data: { pm25: 'high' }, at: '2026-03-01T00:00:00Z' }, now)).toThrow(/not a number/);
    expect(() => readingFromJson(source, spec, { data: { pm25: 5 }, at: '2026-03-02T00:00:00Z' }, now)).toThrow(/future/);
    expect(() => readingFromJson(source, spec, { data: { pm25: 5 }, at: 'yesterday' }, now)).toThrow(/ISO 8601/);
    expect(readingFromJson(source, spec, { data: { pm25: 5 }, at: '2026-02-28T23:00:00+01:00' }, now).measuredAt).toBe(
      '2026-02-28T22:00:00.000Z',
    );
  });
});
