import { describe, expect, it } from 'vitest';
import { DEFAULT_LEVEL_SCHEME, LevelSchemeBody } from '@airpanel/contract';
import { ApiCallError } from '@airpanel/contract/api';
import { errorsOfCall, errorsUnder, fromIssues, validate } from './field-errors.js';

const describe_ = (error: unknown) => (error instanceof Error ? error.message : String(error));

describe('field errors', () => {
  it('keys the contract schema issues by the field path, first message per field', () => {
    const { id: _id, ...body } = DEFAULT_LEVEL_SCHEME;
    const broken = {
      ...body,
      levels: [body.levels[0], { id: 'Bad Id', label: 'x' }, body.levels[2]],
      breakpoints: { ...body.breakpoints, pm25: [50, 20] },
      hysteresis: { marginFraction: 2, minDwellSeconds: 10 },
    };
    const errors = validate(LevelSchemeBody, broken);
    expect(Object.keys(errors).sort()).toEqual(['breakpoints.pm25.1', 'hysteresis.marginFraction', 'levels.1.id']);
    expect(errors['levels.1.id']).toMatch(/level id/);
    expect(validate(LevelSchemeBody, body)).toEqual({});
  });

  it('reports the scheme-wide checks (order of breakpoints) at their pollutant', () => {
    const { id: _id, ...body } = DEFAULT_LEVEL_SCHEME;
    const errors = validate(LevelSchemeBody, { ...body, breakpoints: { pm25: [50, 20] } });
    expect(errors).toEqual({ 'breakpoints.pm25.1': 'breakpoints must strictly increase' });
  });

  it('takes the issues of an API 400 by body field, the rest as a general message', () => {
    const error = new ApiCallError('refused', 'replaceLevelScheme', '400', {
      status: 400,
      serverError: {
        code: 'invalid-request',
        message: 'body.levels.0.id: bad',
        details: {
          issues: [
            { path: 'body.levels.0.id', message: 'a level id' },
            { path: 'body.levels.0.id', message: 'second message' },
            { path: 'params.levelSchemeId', message: 'an identifier' },
          ],
        },
      },
    });
    expect(errorsOfCall(error, { describe: describe_ })).toEqual({
      fields: { 'levels.0.id': 'a level id' },
      general: 'params.levelSchemeId: an identifier',
    });
  });

  it("takes the client's own check of the body by field", () => {
    const error = new ApiCallError('invalid-request', 'createContentSet', 'body invalid', {
      issues: [{ path: ['byLevel', 'bad', 'headline'], message: 'Too small' }],
    });
    expect(errorsOfCall(error, { describe: describe_ }).fields).toEqual({ 'byLevel.bad.headline': 'Too small' });
  });

  it('puts a 409 next to the id field, anything else at the top', () => {
    const conflict = new ApiCallError('refused', 'createSensorSource', 'id taken', { status: 409 });
    expect(errorsOfCall(conflict, { conflictField: 'id', describe: describe_ })).toEqual({ fields: { id: 'id taken' }, general: null });
    const forbidden = new ApiCallError('refused', 'createSensorSource', 'forbidden', { status: 403 });
    expect(errorsOfCall(forbidden, { conflictField: 'id', describe: describe_ })).toEqual({ fields: {}, general: 'forbidden' });
    expect(errorsOfCall(new Error('boom'), { describe: describe_ })).toEqual({ fields: {}, general: 'boom' });
  });

  it('collects the errors of a group of fields', () => {
    const errors = fromIssues([
      { path: ['breakpoints', 'pm25'], message: 'needs 2' },
      { path: ['breakpoints', 'pm25', 1], message: 'increase' },
      { path: ['breakpoints', 'pm10', 0], message: 'positive' },
    ]);
    expect(errorsUnder(errors, 'breakpoints.pm25')).toEqual(['needs 2', 'increase']);
  });
});
