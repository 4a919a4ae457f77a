import {
  DEFAULT_CONTENT_SET,
  DEFAULT_LEVEL_SCHEME,
  type DisplayDocument,
  type LevelContent,
  type PollutantValues,
  type Pollutant,
} from '@airpanel/contract';
import { PanelView } from '@airpanel/contract/internal';

/** Panel sizes the renderer must serve: landscape full HD, portrait, a small LED panel. */
export const SIZES = [
  { name: '1920x1080', width: 1920, height: 1080 },
  { name: '1080x1920', width: 1080, height: 1920 },
  { name: '768x384', width: 768, height: 384 },
] as const;

export type LevelName = 'good' | 'moderate' | 'bad';

const READINGS: Record<LevelName, { values: PollutantValues; dominant: Pollutant }> = {
  good: { values: { pm25: 8.4, pm10: 15, no2: 22, o3: 48, so2: 3.1 }, dominant: 'o3' },
  moderate: { values: { pm25: 34, pm10: 52, no2: 61, o3: 71, so2: 4 }, dominant: 'pm25' },
  bad: { values: { pm25: 72, pm10: 118, no2: 244, o3: 96, so2: 6 }, dominant: 'no2' },
};

const LEVEL_INDEX: Record<LevelName, number> = { good: 0, moderate: 1, bad: 2 };

/** A fixed measurement time, shown as `13:05` in en-GB at UTC (the specs' timezone). */
export const MEASURED_AT = '2026-03-14T13:05:00.000Z';

export interface ContentOptions {
  revision?: number;
  locale?: string;
  content?: Partial<LevelContent>;
  staleSince?: string | null;
  readings?: boolean;
  /** The level's label (the scheme's otherwise). */
  label?: string;
}

/** A content view that passes the contract (validated here, so fixtures cannot drift). */
export function contentView(level: LevelName, options: ContentOptions = {}): PanelView {
  const content = { ...DEFAULT_CONTENT_SET.byLevel[level]!, ...options.content };
  const doc: DisplayDocument = {
    schemaVersion: 1,
    panelId: 'panel-test-01',
    revision: options.revision ?? 1,
    issuedAt: '2026-03-14T13:06:00.000Z',
    validUntil: '2026-03-14T13:36:00.000Z',
    level: { id: level, label: options.label ?? DEFAULT_LEVEL_SCHEME.levels[LEVEL_INDEX[level]]!.label, index: LEVEL_INDEX[level], of: 3 },
    readings: options.readings === false ? null : { measuredAt: MEASURED_AT, source: 'test sensor', ...READINGS[level] },
    content,
    locale: options.locale ?? 'en-GB',
    scheme: DEFAULT_LEVEL_SCHEME,
  };
  return PanelView.parse({ kind: 'content', document: doc, stale: options.staleSince ? { since: options.staleSince } : null });
}

/** The same, without validation: what a misbehaving bridge might send. */
export function rawContentView(level: LevelName, content: Record<string, unknown>, revision = 1): unknown {
  const valid = contentView(level, { revision }) as Extract<PanelView, { kind: 'content' }>;
  return { ...valid, document: { ...valid.document, content: { ...valid.document.content, ...content } } };
}

export const BOOTING: PanelView = { kind: 'booting' };
export const MAINTENANCE_CFG1: PanelView = { kind: 'maintenance', code: 'CFG-1' };
