import { describe, expect, it } from 'vitest';
import { DEFAULT_LEVEL_SCHEME, LevelSchemeBody, LevelSchemeCreateBody } from '@airpanel/contract';
import { validate } from './field-errors.js';
import { addLevel, newSchemeDraft, removeLevel, schemeBodyOf, schemeDraftOf } from './scheme-draft.js';

describe('level scheme draft', () => {
  it('round-trips a stored scheme into the same body', () => {
    const { id: _id, ...expected } = DEFAULT_LEVEL_SCHEME;
    const body = schemeBodyOf(schemeDraftOf(DEFAULT_LEVEL_SCHEME), { withId: false });
    expect(body).toEqual(expected);
    expect(validate(LevelSchemeBody, body)).toEqual({});
  });

  it('leaves pollutants without breakpoints off, and their inputs empty', () => {
    const draft = schemeDraftOf({ ...DEFAULT_LEVEL_SCHEME, breakpoints: { pm25: [20, 50] } });
    expect(draft.breakpoints.no2).toEqual({ enabled: false, values: ['', ''] });
    expect(Object.keys(schemeBodyOf(draft, { withId: false }).breakpoints)).toEqual(['pm25']);
  });

  it('keeps a level and its breakpoints in step when adding and removing levels', () => {
    const draft = schemeDraftOf(DEFAULT_LEVEL_SCHEME);
    addLevel(draft);
    expect(draft.levels).toHaveLength(4);
    expect(draft.breakpoints.pm25.values).toEqual([20, 50, 75]);
    removeLevel(draft, 1); // "moderate" goes, with the breakpoint that opened it
    expect(draft.levels.map((l) => l.id)).toEqual(['good', 'bad', '']);
    expect(draft.breakpoints.pm25.values).toEqual([50, 75]);
    removeLevel(draft, 0); // the best level: the breakpoint that opened the next one goes
    expect(draft.breakpoints.pm25.values).toEqual([75]);
  });

  it('lets the contract schema judge what was typed, by field', () => {
    const draft = schemeDraftOf(DEFAULT_LEVEL_SCHEME);
    draft.breakpoints.pm10.values[1] = 'abc';
    draft.breakpoints.pm25.values[1] = 10;
    draft.hysteresis.marginFraction = 0.9;
    const errors = validate(LevelSchemeBody, schemeBodyOf(draft, { withId: false }));
    expect(Object.keys(errors).sort()).toEqual(['breakpoints.pm10.1', 'hysteresis.marginFraction']);
    // The scheme-wide checks run once every field has the right type.
    draft.breakpoints.pm10.values[1] = 100;
    draft.hysteresis.marginFraction = 0.1;
    expect(validate(LevelSchemeBody, schemeBodyOf(draft, { withId: false }))).toEqual({
      'breakpoints.pm25.1': 'breakpoints must strictly increase',
    });
  });

  it('sends the id of a new scheme only when one was typed', () => {
    const draft = newSchemeDraft();
    draft.name = 'Two levels';
    expect('id' in schemeBodyOf(draft, { withId: true })).toBe(false);
    draft.id = ' city-2 ';
    const body = schemeBodyOf(draft, { withId: true });
    expect(body).toMatchObject({ id: 'city-2', breakpoints: { pm25: [25] } });
    expect(validate(LevelSchemeCreateBody, body)).toEqual({});
  });
});
