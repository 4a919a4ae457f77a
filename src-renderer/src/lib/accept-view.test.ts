import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTENT_SET, DEFAULT_LEVEL_SCHEME, HEADLINE_MAX, MESSAGE_MAX } from '@airpanel/contract';
import { type PanelView } from '@airpanel/contract/internal';
import { acceptView } from './accept-view.js';

const content: PanelView = {
  kind: 'content',
  stale: null,
  document: {
    schemaVersion: 1,
    panelId: 'panel-01',
    revision: 9,
    issuedAt: '2026-03-14T13:06:00.000Z',
    validUntil: '2026-03-14T13:36:00.000Z',
    level: { id: 'good', label: 'Good', index: 0, of: 3 },
    readings: { measuredAt: '2026-03-14T13:05:00.000Z', source: 's', values: { pm25: 8 }, dominant: 'pm25' },
    content: DEFAULT_CONTENT_SET.byLevel.good!,
    locale: 'en',
    scheme: DEFAULT_LEVEL_SCHEME,
  },
};

describe('acceptView', () => {
  it('takes a valid view as it is', () => {
    expect(acceptView(content)).toEqual({ view: content, problem: null });
    expect(acceptView({ kind: 'maintenance', code: 'CFG-1' }).problem).toBeNull();
  });

  it('cuts over-long texts to the caps and reports the view', () => {
    const doc = (content as Extract<PanelView, { kind: 'content' }>).document;
    const raw = {
      ...content,
      document: {
        ...doc,
        content: { ...doc.content, headline: 'H'.repeat(500), message: 'm'.repeat(10_000), icon: 'rocket', background: 'red' },
      },
    };
    const { view, problem } = acceptView(raw);
    expect(problem).toMatch(/view does not match the contract/);
    const shown = (view as Extract<PanelView, { kind: 'content' }>).document.content;
    expect(shown.headline.length).toBe(HEADLINE_MAX);
    expect(shown.message.length).toBe(MESSAGE_MAX);
    expect(shown.message.endsWith('…')).toBe(true);
    expect(shown.icon).toBe('info');
    expect(shown.background).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('ignores what it cannot draw', () => {
    for (const raw of [null, 42, 'content', { kind: 'fireworks' }, { kind: 'content' }]) {
      const { view, problem } = acceptView(raw);
      expect(view).toBeNull();
      expect(problem).not.toBeNull();
    }
  });

  it('keeps a maintenance code short and plain', () => {
    const { view } = acceptView({ kind: 'maintenance', code: '<b>very-long-code-12345</b>' });
    expect(view).toEqual({ kind: 'maintenance', code: expect.stringMatching(/^[A-Z0-9-]{1,9}$/) });
  });
});
