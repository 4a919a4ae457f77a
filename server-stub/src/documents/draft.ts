import { createHash } from 'node:crypto';
import { DISPLAY_DOCUMENT_MAX_BYTES, DisplayDocument, evaluateLevel } from '@airpanel/contract';
import type { ContentSet, IconName, LevelContent, LevelScheme, LevelState, Panel, Reading } from '@airpanel/contract';

/**
 * How long a document stays valid after it is issued. The backend re-issues documents
 * whenever readings arrive and renews them before they lapse, so a panel holding a document
 * past `validUntil` has lost the backend (or the backend its sensor) for at least one full
 * refresh cycle plus slack: two refresh intervals. The floor of ten minutes stops a short
 * refresh interval (tests, demos at 1 s) from making every network hiccup show the stale
 * badge on the street.
 */
export const MIN_VALIDITY_SECONDS = 600;

export function documentValiditySeconds(refreshIntervalSeconds: number): number {
  return Math.max(2 * refreshIntervalSeconds, MIN_VALIDITY_SECONDS);
}

export interface DocumentInputs {
  panel: Panel;
  scheme: LevelScheme;
  contentSet: ContentSet;
  /** The latest reading of the panel's sensor source, null when there is none. */
  reading: Reading | null;
  previousState: LevelState | null;
}

/** Everything of a document except revision and times; equal drafts mean nothing changed. */
export type DocumentDraft = Omit<DisplayDocument, 'revision' | 'issuedAt' | 'validUntil'>;

export interface DraftResult {
  draft: DocumentDraft;
  /** The hysteresis state to remember, null when there was no reading to evaluate. */
  state: LevelState | null;
  usedFallbackContent: boolean;
}

/**
 * Decides what a panel shows: the level from the latest reading (with the panel's
 * hysteresis state), and the content set's texts for that level.
 *
 * Level evaluation runs at the reading's measurement time, not at wall-clock time, so that
 * re-issuing a document for another reason (content edited) evaluates the same reading to
 * the same level, and the dwell of the hysteresis counts sensor time.
 *
 * Without a reading the document shows the scheme's first level with `readings: null`;
 * the renderer can tell "no data yet" from that.
 */
export function draftDocument(inputs: DocumentInputs): DraftResult {
  const { panel, scheme, contentSet, reading, previousState } = inputs;
  const evaluation = reading ? evaluateLevel(scheme, reading.values, previousState, Date.parse(reading.measuredAt)) : null;
  const index = evaluation?.index ?? 0;
  const level = scheme.levels[index]!;
  const configured = contentSet.byLevel[level.id];
  const content = configured ?? fallbackContent(level.label, index, scheme.levels.length);
  const draft: DocumentDraft = {
    schemaVersion: 1,
    panelId: panel.id,
    level: { id: level.id, label: level.label, index, of: scheme.levels.length },
    readings: reading
      ? { measuredAt: reading.measuredAt, source: reading.source, values: reading.values, dominant: evaluation?.dominant ?? null }
      : null,
    content,
    locale: contentSet.locale,
    scheme,
    contentByLevel: Object.fromEntries(
      scheme.levels.map((l, i) => [l.id, contentSet.byLevel[l.id] ?? fallbackContent(l.label, i, scheme.levels.length)]),
    ),
    minorVersion: 1,
  };
  return { draft, state: evaluation?.state ?? null, usedFallbackContent: configured === undefined };
}

/** Severity colours, best to worst, with a readable foreground each (WCAG AA at panel sizes). */
const FALLBACK_PALETTE: readonly { background: string; foreground: string; icon: IconName }[] = [
  { background: '#1b7f3b', foreground: '#ffffff', icon: 'leaf' },
  { background: '#f2c200', foreground: '#111111', icon: 'neutral' },
  { background: '#d9640f', foreground: '#111111', icon: 'frown' },
  { background: '#b3171c', foreground: '#ffffff', icon: 'mask' },
];

/**
 * Content for a level the content set does not cover (an operator switched a panel to a
 * scheme with other level ids). It shows the scheme's own label, so it is never a wrong
 * text borrowed from another level, and a colour by severity; the message stays empty
 * rather than guessing advice in an unknown language.
 */
export function fallbackContent(label: string, index: number, levelCount: number): LevelContent {
  const position = levelCount <= 1 ? 0 : Math.round((index / (levelCount - 1)) * (FALLBACK_PALETTE.length - 1));
  const colours = FALLBACK_PALETTE[position]!;
  return { headline: label, message: '', background: colours.background, foreground: colours.foreground, icon: colours.icon };
}

/**
 * A digest of the draft: equal drafts mean the panel would show the same thing. Kept in
 * memory per panel (and in the DB), so a short digest rather than the draft's JSON. A
 * database written before the digest (it held the JSON) never matches: each panel gets one
 * needless new revision at its next reissue, which panels take like any other.
 */
export function draftFingerprint(draft: DocumentDraft): string {
  return createHash('sha256').update(JSON.stringify(draft)).digest('base64url');
}

declare const checkedAgainstContract: unique symbol;

/**
 * A DisplayDocument checked against the contract and the size cap, serialized once: what is
 * stored, served over HTTP and published over MQTT. Only `encodeDisplayDocument` makes one,
 * so whoever holds one sends it without checking or serializing it again.
 */
export interface EncodedDisplayDocument {
  readonly document: DisplayDocument;
  readonly json: string;
  readonly [checkedAgainstContract]: true;
}

/**
 * Checks a document on its way out: a panel drops anything invalid or oversized, so a
 * backend bug must fail here, loudly, instead.
 */
export function encodeDisplayDocument(candidate: unknown): EncodedDisplayDocument {
  const checked = DisplayDocument.safeParse(candidate);
  if (!checked.success) throw new Error(`refusing to issue an invalid DisplayDocument: ${checked.error.message}`);
  const json = JSON.stringify(checked.data);
  const size = Buffer.byteLength(json, 'utf8');
  if (size > DISPLAY_DOCUMENT_MAX_BYTES) {
    throw new Error(
      `the DisplayDocument of panel ${checked.data.panelId} is ${size} bytes; panels drop anything over ${DISPLAY_DOCUMENT_MAX_BYTES}`,
    );
  }
  return { document: checked.data, json } as EncodedDisplayDocument;
}

/** Stamps a draft with its revision and validity, and encodes it. */
export function issueDocument(draft: DocumentDraft, revision: number, issuedAtMs: number, validitySeconds: number): EncodedDisplayDocument {
  return encodeDisplayDocument({
    ...draft,
    revision,
    issuedAt: new Date(issuedAtMs).toISOString(),
    validUntil: new Date(issuedAtMs + validitySeconds * 1000).toISOString(),
  });
}
