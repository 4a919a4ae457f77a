import { z } from 'zod';
import { IsoDateTime, shortText } from './primitives.js';

/** Pollutants a panel can show. Concentrations are always in µg/m³. */
export const POLLUTANTS = ['pm25', 'pm10', 'no2', 'o3', 'so2'] as const;
export const Pollutant = z.enum(POLLUTANTS);
export type Pollutant = z.infer<typeof Pollutant>;

export const POLLUTANT_LABELS: Record<Pollutant, string> = {
  pm25: 'PM2.5',
  pm10: 'PM10',
  no2: 'NO₂',
  o3: 'O₃',
  so2: 'SO₂',
};

/** A concentration in µg/m³. The cap rejects sensor garbage (no real air reaches 10 g/m³). */
export const Concentration = z.number().finite().min(0).max(10_000);

export const PollutantValues = z
  .partialRecord(Pollutant, Concentration)
  .refine((v) => Object.keys(v).length > 0, 'at least one pollutant value');
export type PollutantValues = z.infer<typeof PollutantValues>;

/** One set of concentrations measured at one time by one source. */
export const Reading = z.object({
  measuredAt: IsoDateTime,
  source: shortText(200),
  values: PollutantValues,
});
export type Reading = z.infer<typeof Reading>;
