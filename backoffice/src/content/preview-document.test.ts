import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTENT_SET, DEFAULT_LEVEL_SCHEME, DisplayDocument } from '@airpanel/contract';
import { buildPreviewView, PREVIEW_PANEL_ID, sampleInBand, sampleReadings } from './preview-document.js';

const now = new Date('2026-12-02T10:00:00.000Z');
const bad = DEFAULT_CONTENT_SET.byLevel.bad!;

describe('buildPreviewView', () => {
  it('builds a valid display document of the contract for the level being edited', () => {
    const { view, problem } = buildPreviewView({ locale: 'en', content: { ...bad }, levelId: 'bad', scheme: DEFAULT_LEVEL_SCHEME, now });
    expect(problem).toBeNull();
    expect(view.kind).toBe('content');
    expect(view.stale).toBeNull();
    expect(DisplayDocument.safeParse(view.document).success).toBe(true);
    expect(view.document.panelId).toBe(PREVIEW_PANEL_ID);
    expect(view.document.content).toEqual(bad);
    expect(view.document.level).toEqual({ id: 'bad', label: 'Bad', index: 2, of: 3 });
    expect(view.document.issuedAt).toBe(now.toISOString());
    expect(view.document.readings?.measuredAt).toBe(now.toISOString());
    expect(view.document.scheme).toEqual(DEFAULT_LEVEL_SCHEME);
  });

  it('puts the sample readings inside the level band of every pollutant with breakpoints', () => {
    const { view } = buildPreviewView({ locale: 'en', content: { ...bad }, levelId: 'moderate', scheme: DEFAULT_LEVEL_SCHEME, now });
    const readings = view.document.readings!;
    // pm25 breakpoints 20 / 50: moderate is [20, 50).
    expect(readings.values.pm25).toBe(35);
    expect(readings.values.no2).toBe(160);
    expect(readings.dominant).toBe('pm25');
    for (const [pollutant, bps] of Object.entries(DEFAULT_LEVEL_SCHEME.breakpoints)) {
      const value = readings.values[pollutant as keyof typeof readings.values]!;
      expect(value).toBeGreaterThanOrEqual(bps[0]!);
      expect(value).toBeLessThan(bps[1]!);
    }
  });

  it('carries the locale and the texts exactly as typed (right-to-left too)', () => {
    const content = { ...bad, headline: 'جودة الهواء سيئة', message: 'سطر أول\nسطر ثان' };
    const { view, problem } = buildPreviewView({ locale: 'ar', content, levelId: 'bad', scheme: DEFAULT_LEVEL_SCHEME, now });
    expect(problem).toBeNull();
    expect(view.document.locale).toBe('ar');
    expect(view.document.content.message).toBe('سطر أول\nسطر ثان');
  });

  it('draws half-typed values the way the panel draws a view that fails the contract, and says why', () => {
    const content = { headline: 'x'.repeat(500), message: 'ok', background: '#12', foreground: '#ffffff', icon: 'rocket' };
    const { view, problem } = buildPreviewView({ locale: 'en', content, levelId: 'bad', scheme: DEFAULT_LEVEL_SCHEME, now });
    expect(problem).toMatch(/does not match the contract/);
    expect(view.kind).toBe('content');
    expect(view.document.content.headline.length).toBe(120);
    expect(view.document.content.headline.endsWith('…')).toBe(true);
    expect(view.document.content.background).toMatch(/^#[0-9a-f]{6}$/i);
    expect(view.document.content.icon).toBe('info');
  });

  it('labels a level the scheme does not have with its id', () => {
    const { view } = buildPreviewView({ locale: 'en', content: { ...bad }, levelId: 'hazardous', scheme: DEFAULT_LEVEL_SCHEME, now });
    expect(view.document.level).toEqual({ id: 'hazardous', label: 'hazardous', index: 0, of: 3 });
  });
});

describe('sample readings', () => {
  it('takes the middle of a band, half the first breakpoint for the best level, a quarter above the last for the worst', () => {
    expect(sampleInBand([20, 50], 0)).toBe(10);
    expect(sampleInBand([20, 50], 1)).toBe(35);
    expect(sampleInBand([20, 50], 2)).toBe(62.5);
    expect(sampleInBand([], 1)).toBe(0);
  });

  it('gives no value for a pollutant without breakpoints', () => {
    const scheme = { ...DEFAULT_LEVEL_SCHEME, breakpoints: { o3: [100, 240] } };
    expect(sampleReadings(scheme, 2)).toEqual({ values: { o3: 300 }, dominant: 'o3' });
  });
});
