import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DEFAULT_CONTENT_SET,
  DEFAULT_LEVEL_SCHEME,
  DisplayDocument,
  Identifier,
  IsoDateTime,
  LevelContent,
  LevelScheme,
  ReadingsSummary,
  DisplayLevel,
} from '@airpanel/contract';
import { OwnLevelDecider } from './own-decision.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 4, 1, 9, 0, 0);

function doc(revision: number, level: 'good' | 'moderate' | 'bad', withAll = true): DisplayDocument {
  const index = { good: 0, moderate: 1, bad: 2 }[level];
  return DisplayDocument.parse({
    schemaVersion: 1,
    panelId: 'panel-own',
    revision,
    issuedAt: new Date(T0).toISOString(),
    validUntil: new Date(T0 + 10 * MIN).toISOString(),
    level: { id: level, label: DEFAULT_LEVEL_SCHEME.levels[index]!.label, index, of: 3 },
    readings: null,
    content: DEFAULT_CONTENT_SET.byLevel[level],
    locale: 'en',
    scheme: DEFAULT_LEVEL_SCHEME,
    ...(withAll ? { contentByLevel: DEFAULT_CONTENT_SET.byLevel, minorVersion: 1 } : {}),
  });
}

describe('OwnLevelDecider', () => {
  it("takes the level its values give with the same hysteresis, and that level's content", () => {
    const d = new OwnLevelDecider();
    const base = doc(12, 'good');
    // 21 µg/m³ PM2.5: past the 20 breakpoint but inside the 10 % margin → dwell (600 s) first.
    const inBand = d.decide({ document: base, values: { pm25: 21 }, measuredAtMs: T0, panelId: 'panel-own', sensor: 'sds011' }, T0);
    expect(inBand?.levelId).toBe('good');
    const held = d.decide(
      { document: base, values: { pm25: 21.1 }, measuredAtMs: T0 + 11 * MIN, panelId: 'panel-own', sensor: 'sds011' },
      T0 + 11 * MIN,
    );
    expect(held?.levelId).toBe('moderate');
    expect(held?.document.content).toEqual(DEFAULT_CONTENT_SET.byLevel['moderate']);
    expect(held?.document.revision).toBe(12); // never invents a revision
    expect(held?.document.readings).toMatchObject({ source: 'panel:panel-own/sds011', values: { pm25: 21.1 }, dominant: 'pm25' });
    // Clearly bad: at once.
    const bad = d.decide(
      { document: base, values: { pm25: 80 }, measuredAtMs: T0 + 12 * MIN, panelId: 'panel-own', sensor: 'sds011' },
      T0 + 12 * MIN,
    );
    expect(bad?.levelId).toBe('bad');
    expect(bad?.sinceWallMs).toBe(T0); // the decision has been in force since the first one
    expect(DisplayDocument.safeParse(bad?.document).success).toBe(true);
    expect(d.end()?.levelId).toBe('bad');
    expect(d.active).toBe(null);
  });

  it('decides nothing from a contract-1.0 document (no content for other levels)', () => {
    const d = new OwnLevelDecider();
    expect(
      d.decide({ document: doc(3, 'good', false), values: { pm25: 90 }, measuredAtMs: T0, panelId: 'panel-own', sensor: 'pms5003' }, T0),
    ).toBe(null);
  });
});

describe('contract 1.1 keeps contract-1.0 panels working', () => {
  // DisplayDocument as contract 1.0 (before contentByLevel) had it: a panel of that contract
  // parses documents with this schema.
  const DisplayDocumentV10 = z.object({
    schemaVersion: z.literal(1),
    panelId: Identifier,
    revision: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    issuedAt: IsoDateTime,
    validUntil: IsoDateTime,
    level: DisplayLevel,
    readings: ReadingsSummary.nullable(),
    content: LevelContent,
    locale: z.string().min(2).max(35),
    scheme: LevelScheme,
  });

  it('a 1.1 document passes the 1.0 schema, and 1.0 documents pass the 1.1 schema', () => {
    const v11 = doc(5, 'moderate');
    const parsedByOld = DisplayDocumentV10.parse(JSON.parse(JSON.stringify(v11)));
    expect(parsedByOld.level.id).toBe('moderate');
    expect('contentByLevel' in parsedByOld).toBe(false);
    expect(DisplayDocument.parse(parsedByOld).contentByLevel).toBeUndefined();
  });
});
