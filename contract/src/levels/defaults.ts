import type { ContentSet } from '../product/content.js';
import type { LevelScheme } from '../product/levels.js';

/**
 * Default level scheme: three levels built on the European Air Quality Index of the
 * European Environment Agency (EAQI, hourly concentrations in µg/m³, bands as revised in
 * 2021: Good / Fair / Moderate / Poor / Very poor / Extremely poor). The six bands are
 * folded into three for a roadside panel:
 *   good     = EAQI Good or Fair
 *   moderate = EAQI Moderate or Poor
 *   bad      = EAQI Very poor or Extremely poor
 * so the breakpoints are the lower bounds of EAQI "Moderate" and "Very poor":
 *   PM2.5 20 / 50, PM10 40 / 100, NO2 90 / 230, O3 100 / 240, SO2 200 / 500.
 * Source: EEA, European Air Quality Index, https://airindex.eea.europa.eu (band table).
 * A 10 % margin and a 10-minute dwell keep a sensor hovering at a breakpoint from
 * flickering the panel; operators can change all of this per scheme.
 */
export const DEFAULT_LEVEL_SCHEME: LevelScheme = {
  id: 'eaqi-3',
  name: 'EAQI, three levels',
  levels: [
    { id: 'good', label: 'Good' },
    { id: 'moderate', label: 'Moderate' },
    { id: 'bad', label: 'Bad' },
  ],
  breakpoints: {
    pm25: [20, 50],
    pm10: [40, 100],
    no2: [90, 230],
    o3: [100, 240],
    so2: [200, 500],
  },
  hysteresis: { marginFraction: 0.1, minDwellSeconds: 600 },
};

/** Default texts for the default scheme; colours pass WCAG AA contrast at panel sizes. */
export const DEFAULT_CONTENT_SET: ContentSet = {
  id: 'default-en',
  name: 'Default (English)',
  locale: 'en',
  byLevel: {
    good: {
      headline: 'Air quality is good',
      message: 'Enjoy your time outdoors.',
      background: '#1b7f3b',
      foreground: '#ffffff',
      icon: 'leaf',
    },
    moderate: {
      headline: 'Air quality is moderate',
      message: 'Sensitive people should limit long or intense activity outdoors.',
      background: '#f2c200',
      foreground: '#111111',
      icon: 'neutral',
    },
    bad: {
      headline: 'Air quality is bad',
      message: 'Avoid intense activity outdoors. Sensitive people should stay indoors.',
      background: '#b3171c',
      foreground: '#ffffff',
      icon: 'mask',
    },
  },
};
