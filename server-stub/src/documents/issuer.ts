import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { displayETag, type ContentSet, type DisplayDocument, type LevelScheme, type Reading } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import type { Logger } from '../logger.js';
import type { BackendMetrics } from '../metrics.js';
import type { MqttGateway } from '../mqtt/gateway.js';
import type { PanelStore } from '../panels/store.js';
import {
  documentValiditySeconds,
  draftDocument,
  draftFingerprint,
  encodeDisplayDocument,
  issueDocument,
  type DocumentDraft,
  type EncodedDisplayDocument,
} from './draft.js';
import type { DocumentStore } from './store.js';

/**
 * Panels redrafted per SQLite transaction. Small enough that a chunk takes a few tens of
 * milliseconds (polls and publishes wait no longer than that), large enough that commits
 * and the revision counter are not paid per panel.
 */
const REISSUE_CHUNK_SIZE = 250;

function reissueChunks(panelIds: readonly string[]): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < panelIds.length; i += REISSUE_CHUNK_SIZE) chunks.push(panelIds.slice(i, i + REISSUE_CHUNK_SIZE));
  return chunks;
}

/** A per-call cache of a lookup by id (a chunk reads each scheme or content set once). */
function memoize<T>(load: (id: string) => T): (id: string) => T {
  const cache = new Map<string, T>();
  return (id) => {
    if (!cache.has(id)) cache.set(id, load(id));
    return cache.get(id) as T;
  };
}

/** The current document of a panel as the display route serves it, ready to send. */
export interface CachedDisplay extends EncodedDisplayDocument {
  etag: string;
  /** Digest of the document's draft (all but revision and times): equal means nothing changed. */
  fingerprint: string;
}

export interface DocumentIssuerOptions {
  store: Store;
  documents: DocumentStore;
  panels: PanelStore;
  levelSchemes: { get(id: string): LevelScheme | null };
  contentSets: { get(id: string): ContentSet | null };
  latestReading(sourceId: string): Reading | null;
  /** The gateway documents are published through (attached once the broker runs). */
  gateway(): MqttGateway;
  clock: Clock;
  logger: Logger;
  metrics: BackendMetrics;
  refreshIntervalSeconds: number;
}

/**
 * Every panel's current display document: drafted from what it shows (panel, scheme, content
 * set, latest reading), issued with a new revision when the draft's fingerprint changed (or
 * renewed before it lapses), stored, kept encoded in memory for the display route, and
 * published through the gateway.
 */
export class DocumentIssuer {
  private readonly displays = new Map<string, CachedDisplay>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Sources whose last fetch failed: their panels' documents are left to lapse (see renewExpiring). */
  private readonly failingSources = new Set<string>();

  constructor(private readonly o: DocumentIssuerOptions) {}

  /** Loads the stored documents and issues those panels lack. */
  init(): void {
    // encodeDisplayDocument checks each stored document against the contract: once, here.
    for (const { document, fingerprint } of this.o.documents.list()) this.cache(encodeDisplayDocument(document), fingerprint);
    const missing = this.o.panels
      .list()
      .map((p) => p.panel.id)
      .filter((id) => !this.displays.has(id));
    this.reissue(missing, 'startup: no document yet');
  }

  display(panelId: string): CachedDisplay | null {
    return this.displays.get(panelId) ?? null;
  }

  /** A deleted panel's document is forgotten (the gateway clears the retained one). */
  forget(panelId: string): void {
    this.displays.delete(panelId);
  }

  /** Re-publishes every current document (retained), e.g. to a freshly started broker. */
  publishAll(): void {
    for (const cached of this.displays.values()) this.publish(cached);
  }

  /** Waits for publishes in flight (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The refresh loop reports a source's health, for renewal decisions. */
  noteSourceHealth(sourceId: string, failing: boolean): void {
    if (failing) this.failingSources.add(sourceId);
    else this.failingSources.delete(sourceId);
  }

  private track(work: Promise<unknown>, what: string, meta: Record<string, unknown>): void {
    const tracked = work
      .catch((error: unknown) => {
        this.o.metrics.publishFailures.inc();
        this.o.logger.warn(`mqtt: ${what} failed`, { ...meta, error: (error as Error).message });
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private publish(encoded: EncodedDisplayDocument): void {
    const { panelId, revision } = encoded.document;
    this.track(this.o.gateway().publishDisplay(encoded), 'publishing a display document', { panelId, revision });
  }

  private cache(encoded: EncodedDisplayDocument, fingerprint: string): void {
    this.displays.set(encoded.document.panelId, { ...encoded, etag: displayETag(encoded.document), fingerprint });
  }

  /**
   * Rebuilds the documents of `panelIds` and issues a new revision for each one whose
   * content changed (or for every one, with `renew`, to extend validity). All at once, for
   * callers that need the result before they return (startup, one panel, renewals).
   */
  reissue(panelIds: Iterable<string>, reason: string, renew = false): DisplayDocument[] {
    const issued: DisplayDocument[] = [];
    for (const chunk of reissueChunks([...panelIds])) issued.push(...this.reissueChunk(chunk, renew));
    this.logIssued(issued, reason);
    return issued;
  }

  /**
   * The same as `reissue` for edits that may touch the whole fleet (a content set, a level
   * scheme, a sensor shared by every panel). It yields to the event loop between chunks, so
   * the documents already built go out over MQTT, and polls are answered, while the rest are
   * still being drafted: the first panels are not held up behind the last. The first chunk
   * runs before the first yield, so an edit touching few panels is done when this is called.
   *
   * Every chunk reads the current rows in its own transaction, so an edit that lands between
   * two chunks is never overwritten by the older one: the later chunks see it too, and a
   * panel the newer edit already reissued has an equal fingerprint and is skipped.
   */
  async reissueYielding(panelIds: readonly string[], reason: string): Promise<number> {
    const issued: DisplayDocument[] = [];
    for (const [i, chunk] of reissueChunks(panelIds).entries()) {
      if (i > 0) await yieldToEventLoop();
      issued.push(...this.reissueChunk(chunk, false));
    }
    this.logIssued(issued, reason);
    return issued.length;
  }

  /**
   * One transaction: drafts each panel's document, keeps those that changed, takes one block
   * of revisions for them, stores them, then caches and publishes them. Schemes, content
   * sets and readings are read once per chunk, not once per panel: a fleet shares a handful.
   */
  private reissueChunk(panelIds: readonly string[], renew: boolean): DisplayDocument[] {
    const { store, documents } = this.o;
    const validity = documentValiditySeconds(this.o.refreshIntervalSeconds);
    const changed = store.transaction(() => {
      const schemes = memoize((id: string) => this.o.levelSchemes.get(id));
      const contentSets = memoize((id: string) => this.o.contentSets.get(id));
      const readings = memoize((sourceId: string) => this.o.latestReading(sourceId));
      const drafts: { draft: DocumentDraft; fingerprint: string }[] = [];
      for (const panelId of panelIds) {
        const row = this.o.panels.get(panelId);
        if (!row) continue;
        const { panel } = row;
        const scheme = schemes(panel.levelSchemeId);
        const contentSet = contentSets(panel.contentSetId);
        if (!scheme || !contentSet) throw new Error(`panel ${panelId} refers to a missing scheme or content set`);
        const reading = panel.sensorSourceId ? readings(panel.sensorSourceId) : null;
        const result = draftDocument({
          panel,
          scheme,
          contentSet,
          reading,
          previousState: reading ? documents.getLevelState(panelId) : null,
        });
        if (result.state) documents.putLevelState(panelId, result.state);
        if (result.usedFallbackContent) {
          this.o.logger.warn('content set lacks a level; showing generated content', {
            panelId,
            contentSetId: contentSet.id,
            levelId: result.draft.level.id,
          });
        }
        const fingerprint = draftFingerprint(result.draft);
        if (!renew && this.displays.get(panelId)?.fingerprint === fingerprint) continue;
        drafts.push({ draft: result.draft, fingerprint });
      }
      if (drafts.length === 0) return [];
      const firstRevision = store.takeRevisions(drafts.length);
      const issuedAt = this.o.clock.now();
      return drafts.map(({ draft, fingerprint }, i) => {
        const encoded = issueDocument(draft, firstRevision + i, issuedAt, validity);
        documents.put(encoded, fingerprint);
        return { encoded, fingerprint };
      });
    });
    for (const { encoded, fingerprint } of changed) {
      this.cache(encoded, fingerprint);
      this.o.metrics.documentsIssued.inc();
      this.publish(encoded);
    }
    return changed.map((c) => c.encoded.document);
  }

  private logIssued(issued: readonly DisplayDocument[], reason: string): void {
    if (issued.length === 0) return;
    const first = issued[0]!;
    if (issued.length === 1) {
      this.o.logger.info('display document issued', { panelId: first.panelId, revision: first.revision, level: first.level.id, reason });
      return;
    }
    // One line per edit, not per panel: a fleet-wide edit would otherwise log thousands.
    this.o.logger.info('display documents issued', {
      count: issued.length,
      reason,
      revisions: `${first.revision}–${issued[issued.length - 1]!.revision}`,
      panelIds: issued.slice(0, 20).map((d) => d.panelId),
    });
  }

  /**
   * Renews documents that would lapse before the next refresh, so a panel whose data is
   * current never shows the stale badge only because nothing changed. Panels whose sensor
   * source is failing are left to lapse: the backend cannot vouch for their data.
   */
  renewExpiring(): number {
    const horizon = this.o.clock.now() + this.o.refreshIntervalSeconds * 1000;
    const due: string[] = [];
    for (const [panelId, cached] of this.displays) {
      if (Date.parse(cached.document.validUntil) > horizon) continue;
      const source = this.o.panels.get(panelId)?.panel.sensorSourceId;
      if (source && this.failingSources.has(source)) continue;
      due.push(panelId);
    }
    return this.reissue(due, 'renewal before validUntil', true).length;
  }
}
