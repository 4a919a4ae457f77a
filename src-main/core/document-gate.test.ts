import { describe, expect, it } from 'vitest';
import { DISPLAY_DOCUMENT_MAX_BYTES } from '@airpanel/contract';
import { judgeDocument } from './document-gate.js';
import { makeDocument } from './testing/fixtures.js';

const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const ctx = { panelId: 'panel-001', shownRevision: 5, highestRevision: 5 };

describe('judgeDocument', () => {
  it('accepts a newer revision for this panel', () => {
    expect(judgeDocument(bytes(makeDocument('panel-001', 6)), ctx)).toMatchObject({ kind: 'accept', document: { revision: 6 } });
  });

  it('confirms the revision on screen', () => {
    expect(judgeDocument(bytes(makeDocument('panel-001', 5)), ctx)).toEqual({ kind: 'confirm', revision: 5 });
  });

  it('refuses older revisions, other panels, invalid documents and non-JSON', () => {
    expect(judgeDocument(bytes(makeDocument('panel-001', 4)), ctx)).toMatchObject({
      kind: 'reject',
      reason: expect.stringContaining('not newer'),
    });
    expect(judgeDocument(bytes(makeDocument('panel-002', 9)), ctx)).toMatchObject({
      kind: 'reject',
      reason: expect.stringContaining('another panel'),
    });
    expect(judgeDocument(bytes({ ...makeDocument('panel-001', 9), level: null }), ctx)).toMatchObject({
      kind: 'reject',
      reason: expect.stringContaining('level'),
    });
    expect(judgeDocument(bytes('{"revision": 9'), ctx)).toEqual({ kind: 'reject', reason: 'not JSON' });
  });

  it('refuses an oversized payload before parsing it', () => {
    // Not JSON at all: a parse would answer "not JSON"; the size check answers first.
    const huge = Buffer.alloc(DISPLAY_DOCUMENT_MAX_BYTES + 1, 0x7b);
    expect(judgeDocument(huge, ctx)).toMatchObject({ kind: 'reject', reason: expect.stringContaining('oversized') });
  });

  it('refuses a replay below the persisted high-water mark even with nothing on screen', () => {
    const after = { panelId: 'panel-001', shownRevision: null, highestRevision: 8 };
    expect(judgeDocument(bytes(makeDocument('panel-001', 7)), after).kind).toBe('reject');
    // The revision we last had (cache lost) is not a replay.
    expect(judgeDocument(bytes(makeDocument('panel-001', 8)), after).kind).toBe('accept');
  });
});
