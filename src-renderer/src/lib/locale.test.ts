import { describe, expect, it } from 'vitest';
import { directionOf, formatConcentration, formatTime, safeLocale, stringsFor } from './locale.js';

describe('locale', () => {
  it('writes ar, he, fa and ur right to left, with or without a region', () => {
    for (const tag of ['ar', 'ar-EG', 'he', 'he-IL', 'fa', 'ur-PK', 'AR']) expect(directionOf(tag)).toBe('rtl');
    for (const tag of ['en', 'fr-BE', 'nl', 'arn', 'hr']) expect(directionOf(tag)).toBe('ltr');
  });

  it('falls back to en for a tag Intl rejects', () => {
    expect(safeLocale('fr-BE')).toBe('fr-BE');
    expect(safeLocale('not a tag!')).toBe('en');
  });

  it('shows only the time for today, the day too otherwise', () => {
    const now = new Date('2026-03-14T15:00:00Z');
    const today = formatTime('2026-03-14T13:05:00Z', 'en-GB', now);
    const earlier = formatTime('2026-03-12T13:05:00Z', 'en-GB', now);
    expect(today).toMatch(/\d\d:05$/);
    expect(earlier.length).toBeGreaterThan(today.length);
    expect(formatTime('garbage', 'en-GB', now)).toBe('');
  });

  it('formats concentrations: one decimal below 10', () => {
    expect(formatConcentration(8.44, 'en')).toBe('8.4');
    expect(formatConcentration(118.4, 'en')).toBe('118');
    expect(formatConcentration(1234, 'de')).toBe('1.234');
  });

  it('has the UI words for the locale, English otherwise', () => {
    expect(stringsFor('fr-BE').staleSince).toBe('Pas de mise à jour depuis');
    expect(stringsFor('iw').staleSince).toBe(stringsFor('he').staleSince);
    expect(stringsFor('zz').staleSince).toBe('Not updated since');
  });
});
