import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTENT_SET, DEFAULT_LEVEL_SCHEME, DISPLAY_DOCUMENT_MAX_BYTES, DisplayDocument } from '@airpanel/contract';
import { draftDocument, draftFingerprint, encodeDisplayDocument, issueDocument } from './draft.js';
import { sampleDisplayDocument } from '../mqtt/test-support/mqtt-test-kit.js';

const panel = {
  id: 'panel-a',
  name: 'A',
  location: null,
  sensorSourceId: null,
  contentSetId: DEFAULT_CONTENT_SET.id,
  levelSchemeId: DEFAULT_LEVEL_SCHEME.id,
  createdAt: '2026-01-01T00:00:00.000Z',
};

describe('display documents on their way out', () => {
  it('encodes a valid document once: the JSON is the checked document', () => {
    const encoded = encodeDisplayDocument(sampleDisplayDocument('panel-a', 3));
    expect(JSON.parse(encoded.json)).toEqual(encoded.document);
    expect(DisplayDocument.parse(JSON.parse(encoded.json)).revision).toBe(3);
  });

  it('refuses a document that breaks the contract, saying which field', () => {
    expect(() => encodeDisplayDocument({ ...sampleDisplayDocument('panel-a', 1), revision: 0 })).toThrow(
      /invalid DisplayDocument.*revision/s,
    );
    expect(() =>
      encodeDisplayDocument({
        ...sampleDisplayDocument('panel-a', 1),
        content: { ...sampleDisplayDocument('panel-a', 1).content, message: 'x'.repeat(DISPLAY_DOCUMENT_MAX_BYTES) },
      }),
    ).toThrow(/invalid DisplayDocument/);
  });

  it('stamps a draft with consecutive revisions and its validity window', () => {
    const { draft } = draftDocument({
      panel,
      scheme: DEFAULT_LEVEL_SCHEME,
      contentSet: DEFAULT_CONTENT_SET,
      reading: null,
      previousState: null,
    });
    const issued = issueDocument(draft, 42, Date.parse('2026-03-01T10:00:00Z'), 600);
    expect(issued.document).toMatchObject({
      revision: 42,
      issuedAt: '2026-03-01T10:00:00.000Z',
      validUntil: '2026-03-01T10:10:00.000Z',
      panelId: 'panel-a',
    });
    expect(issued.json).toBe(JSON.stringify(issued.document));
  });

  it('fingerprints drafts: equal drafts match, any change in what is shown does not', () => {
    const inputs = { panel, scheme: DEFAULT_LEVEL_SCHEME, contentSet: DEFAULT_CONTENT_SET, reading: null, previousState: null };
    const a = draftFingerprint(draftDocument(inputs).draft);
    expect(draftFingerprint(draftDocument(inputs).draft)).toBe(a);
    const edited = {
      ...DEFAULT_CONTENT_SET,
      byLevel: Object.fromEntries(Object.entries(DEFAULT_CONTENT_SET.byLevel).map(([k, v]) => [k, { ...v!, message: `${v!.message}!` }])),
    };
    expect(draftFingerprint(draftDocument({ ...inputs, contentSet: edited }).draft)).not.toBe(a);
    expect(draftFingerprint(draftDocument({ ...inputs, panel: { ...panel, id: 'panel-b' } }).draft)).not.toBe(a);
    // Short enough to keep one per panel in memory.
    expect(a.length).toBeLessThan(64);
  });
});
