import { POLLUTANTS, type LevelScheme, type Pollutant } from '@airpanel/contract';

/**
 * The level scheme form's model. Numbers are what the inputs hold (a number, or the text
 * typed while it is not one); the contract's schema judges them when the body is checked, so
 * its messages land on the right field (`breakpoints.pm25.1`, `hysteresis.marginFraction`).
 */
export type NumberInput = number | string;

export interface LevelSchemeDraft {
  /** Only for a new scheme (empty: the backend makes one). */
  id: string;
  name: string;
  levels: { id: string; label: string }[];
  /** Every pollutant, on or off; an off one is left out of the body. */
  breakpoints: Record<Pollutant, { enabled: boolean; values: NumberInput[] }>;
  hysteresis: { marginFraction: NumberInput; minDwellSeconds: NumberInput };
}

export function schemeDraftOf(scheme: LevelScheme): LevelSchemeDraft {
  const gaps = scheme.levels.length - 1;
  const breakpoints = {} as LevelSchemeDraft['breakpoints'];
  for (const pollutant of POLLUTANTS) {
    const values = scheme.breakpoints[pollutant];
    breakpoints[pollutant] = values
      ? { enabled: true, values: [...values] }
      : { enabled: false, values: Array<NumberInput>(gaps).fill('') };
  }
  return {
    id: scheme.id,
    name: scheme.name,
    levels: scheme.levels.map((level) => ({ ...level })),
    breakpoints,
    hysteresis: { ...scheme.hysteresis },
  };
}

/** A new scheme: two levels, PM2.5 only, the default hysteresis. */
export function newSchemeDraft(): LevelSchemeDraft {
  const breakpoints = {} as LevelSchemeDraft['breakpoints'];
  for (const pollutant of POLLUTANTS) breakpoints[pollutant] = { enabled: pollutant === 'pm25', values: [pollutant === 'pm25' ? 25 : ''] };
  return {
    id: '',
    name: '',
    levels: [
      { id: 'good', label: 'Good' },
      { id: 'bad', label: 'Bad' },
    ],
    breakpoints,
    hysteresis: { marginFraction: 0.1, minDwellSeconds: 600 },
  };
}

/** The request body: enabled pollutants only; the id only for a create that names one. */
export function schemeBodyOf(draft: LevelSchemeDraft, options: { withId: boolean }) {
  const breakpoints: Partial<Record<Pollutant, NumberInput[]>> = {};
  for (const pollutant of POLLUTANTS) {
    const row = draft.breakpoints[pollutant];
    if (row.enabled) breakpoints[pollutant] = [...row.values];
  }
  const body = {
    name: draft.name,
    levels: draft.levels.map((level) => ({ ...level })),
    breakpoints,
    hysteresis: { ...draft.hysteresis },
  };
  return options.withId && draft.id.trim() !== '' ? { ...body, id: draft.id.trim() } : body;
}

/** Adds a level at the worst end; every pollutant gets one more breakpoint (above its last). */
export function addLevel(draft: LevelSchemeDraft): void {
  draft.levels.push({ id: '', label: '' });
  for (const pollutant of POLLUTANTS) {
    const values = draft.breakpoints[pollutant].values;
    const last = values[values.length - 1];
    values.push(typeof last === 'number' && Number.isFinite(last) ? Math.round(last * 1.5) : '');
  }
}

/**
 * Removes level `index`; each pollutant loses the breakpoint that opened it (the one below it),
 * or for the best level the one that opened the next.
 */
export function removeLevel(draft: LevelSchemeDraft, index: number): void {
  if (index < 0 || index >= draft.levels.length) return;
  draft.levels.splice(index, 1);
  for (const pollutant of POLLUTANTS) draft.breakpoints[pollutant].values.splice(Math.max(0, index - 1), 1);
}
