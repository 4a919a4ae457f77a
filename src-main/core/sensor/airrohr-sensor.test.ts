import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import got from 'got';
import { afterEach, describe, expect, it } from 'vitest';
import type { PollutantValues } from '@airpanel/contract';
import { unrefScheduler } from '../clock.js';
import { AIRROHR_MAX_BYTES, AirrohrSensor } from './airrohr-sensor.js';
import type { SensorSink } from './driver.js';

// A Sensor.Community-style node served on 127.0.0.1:0 by node:http; the driver uses real got.

let answer: { status: number; body: string } = { status: 200, body: '{}' };
let server: Server | null = null;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function node(): Promise<string> {
  server = createServer((req, res) => {
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.json`;
}

function recorder() {
  const events: { kind: keyof SensorSink; value: PollutantValues | string | null }[] = [];
  const sink: SensorSink = {
    sample: (v) => events.push({ kind: 'sample', value: v }),
    reachable: () => events.push({ kind: 'reachable', value: null }),
    unreachable: (d) => events.push({ kind: 'unreachable', value: d }),
    invalid: (d) => events.push({ kind: 'invalid', value: d }),
  };
  return { events, sink };
}

const until = async (check: () => boolean, ms = 5_000) => {
  const t = Date.now();
  while (!check()) {
    if (Date.now() - t > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const dataJson = (p1: string, p2: string) =>
  JSON.stringify({
    software_version: 'NRZ-2020-133',
    age: '41',
    sensordatavalues: [
      { value_type: 'SDS_P1', value: p1 },
      { value_type: 'SDS_P2', value: p2 },
      { value_type: 'BME280_temperature', value: '12.4' },
    ],
  });

describe('AirrohrSensor (Sensor.Community data.json)', () => {
  async function run(url: string) {
    const { events, sink } = recorder();
    const sensor = new AirrohrSensor({ url, pollMs: 50, http: got, scheduler: unrefScheduler, timeoutMs: 1_000 });
    sensor.start(sink);
    stops.push(() => sensor.stop());
    return events;
  }

  it('maps SDS_P1 to PM10 and SDS_P2 to PM2.5', async () => {
    answer = { status: 200, body: dataJson('23.10', '11.70') };
    const events = await run(await node());
    await until(() => events.some((e) => e.kind === 'sample'));
    expect(events.find((e) => e.kind === 'sample')!.value).toEqual({ pm10: 23.1, pm25: 11.7 });
  });

  it('reports bad JSON, a wrong shape, garbage values and an oversized answer as invalid', async () => {
    const url = await node();
    const cases = [
      { body: '{"sensordatavalues": [', expect: /not JSON/ },
      { body: '{"sensordatavalues": "x"}', expect: /unexpected/ },
      { body: dataJson('abc', '5'), expect: /not a concentration/ },
      { body: dataJson('5', '50'), expect: /above PM10/ },
      { body: JSON.stringify({ sensordatavalues: [{ value_type: 'BME280_pressure', value: '1000' }] }), expect: /no particulate values/ },
    ];
    for (const c of cases) {
      answer = { status: 200, body: c.body };
      const events = await run(url);
      await until(() => events.some((e) => e.kind === 'invalid'));
      expect(String(events.find((e) => e.kind === 'invalid')!.value)).toMatch(c.expect);
      expect(events.some((e) => e.kind === 'sample')).toBe(false);
      await stops.pop()!();
    }
    answer = { status: 200, body: ' '.repeat(AIRROHR_MAX_BYTES + 10) };
    const events = await run(url);
    await until(() => events.some((e) => e.kind === 'unreachable'));
    expect(String(events.find((e) => e.kind === 'unreachable')!.value)).toMatch(/larger than/);
  });

  it('a node that stops answering is unreachable, and polling goes on until it is back', async () => {
    answer = { status: 200, body: dataJson('10', '5') };
    const url = await node();
    await new Promise<void>((r) => server!.close(() => r()));
    const port = Number(new URL(url).port);
    server = null;
    const events = await run(url);
    await until(() => events.filter((e) => e.kind === 'unreachable').length >= 2);
    server = createServer((_req, res) => res.end(answer.body));
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    await until(() => events.some((e) => e.kind === 'sample'));
    expect(events.at(-1)).toEqual({ kind: 'sample', value: { pm10: 10, pm25: 5 } });
  });
});
