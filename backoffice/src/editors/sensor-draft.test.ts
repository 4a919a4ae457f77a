import { describe, expect, it } from 'vitest';
import { SensorSourceBody, type SensorSource } from '@airpanel/contract';
import { validate } from './field-errors.js';
import { newSensorDraft, sensorBodyOf, sensorDraftOf } from './sensor-draft.js';

const vendor: SensorSource = {
  id: 'vendor-1',
  name: 'Vendor station',
  spec: {
    kind: 'http-json',
    url: 'https://vendor.example/api/station/7',
    fieldMap: { pm25: 'data.pm25', no2: 'data.no2' },
    measuredAtField: 'data.time',
    headers: { 'X-Api-Key': 'k' },
    timeoutMs: 4000,
    retries: 1,
  },
};

describe('sensor source draft', () => {
  it('round-trips an http-json source into the same body', () => {
    const body = sensorBodyOf(sensorDraftOf(vendor), { withId: false });
    expect(body).toEqual({ name: vendor.name, spec: vendor.spec });
    expect(validate(SensorSourceBody, body)).toEqual({});
  });

  it('keeps a panel source as it is (only its name is edited)', () => {
    const draft = sensorDraftOf({ id: 'panel-p1', name: 'Panel p1 sensor', spec: { kind: 'panel', panelId: 'p1-panel' } });
    draft.name = 'Own sensor of p1';
    expect(sensorBodyOf(draft, { withId: false })).toEqual({ name: 'Own sensor of p1', spec: { kind: 'panel', panelId: 'p1-panel' } });
  });

  it('puts the schema errors of what was typed on their fields', () => {
    const draft = sensorDraftOf(vendor);
    draft.url = 'ftp://vendor.example';
    draft.fieldMap.pm25 = 'data..pm25';
    draft.timeoutMs = 10;
    const errors = validate(SensorSourceBody, sensorBodyOf(draft, { withId: false }));
    expect(Object.keys(errors).sort()).toEqual(['spec.fieldMap.pm25', 'spec.timeoutMs', 'spec.url']);
  });

  it('needs at least one pollutant mapped, reported on the map', () => {
    const draft = newSensorDraft();
    draft.name = 'Vendor';
    draft.kind = 'http-json';
    draft.url = 'https://vendor.example/x';
    expect(validate(SensorSourceBody, sensorBodyOf(draft, { withId: false }))).toEqual({ 'spec.fieldMap': 'map at least one pollutant' });
  });

  it('switching the kind keeps what was typed for the other one', () => {
    const draft = sensorDraftOf(vendor);
    draft.kind = 'simulated';
    expect(sensorBodyOf(draft, { withId: false }).spec).toEqual({ kind: 'simulated' });
    draft.kind = 'http-json';
    expect(sensorBodyOf(draft, { withId: false }).spec).toEqual(vendor.spec);
  });
});
