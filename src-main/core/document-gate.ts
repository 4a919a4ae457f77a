import { DISPLAY_DOCUMENT_MAX_BYTES, DisplayDocument } from '@airpanel/contract';

/** What to do with a document that arrived by push or poll. */
export type GateVerdict =
  | { kind: 'accept'; document: DisplayDocument }
  /** The revision already shown: the backend still vouches for it (freshness refresh). */
  | { kind: 'confirm'; revision: number }
  | { kind: 'reject'; reason: string };

export interface GateContext {
  panelId: string;
  /** Revision on screen now, null when nothing is. */
  shownRevision: number | null;
  /** Highest revision ever accepted by this panel (persisted across restarts). */
  highestRevision: number;
}

/**
 * Decides on raw bytes from the network, in order: size cap (before parsing, so a hostile or
 * broken payload costs no JSON parse), JSON, schema, owner, revision.
 *
 * Revision rule: accept when newer than what is shown and not older than the highest ever
 * accepted. Equal to the highest but not shown is accepted on purpose: that is the same
 * content we had before the cache was lost, not a replay of older content.
 */
export function judgeDocument(bytes: Uint8Array, ctx: GateContext): GateVerdict {
  if (bytes.byteLength > DISPLAY_DOCUMENT_MAX_BYTES) {
    return { kind: 'reject', reason: `oversized: ${bytes.byteLength} bytes > ${DISPLAY_DOCUMENT_MAX_BYTES}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return { kind: 'reject', reason: 'not JSON' };
  }
  const parsed = DisplayDocument.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'reject', reason: `invalid document: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}` };
  }
  const doc = parsed.data;
  if (doc.panelId !== ctx.panelId) return { kind: 'reject', reason: `document for another panel (${doc.panelId})` };
  if (ctx.shownRevision !== null && doc.revision === ctx.shownRevision) return { kind: 'confirm', revision: doc.revision };
  if (doc.revision > (ctx.shownRevision ?? 0) && doc.revision >= ctx.highestRevision) return { kind: 'accept', document: doc };
  return {
    kind: 'reject',
    reason: `revision ${doc.revision} not newer than shown ${ctx.shownRevision ?? 'none'} / highest ${ctx.highestRevision}`,
  };
}
