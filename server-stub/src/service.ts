import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  Command,
  ContentSet,
  DEFAULT_CONTENT_SET,
  DEFAULT_LEVEL_SCHEME,
  LevelScheme,
  Panel,
  PanelRegistration,
  PanelSummary,
  Reading,
  SensorSource,
  displayETag,
  panelTopics,
} from '@airpanel/contract';
import type {
  ApiKeyRotation,
  CommandBody,
  ContentSetBody,
  ContentSetCreateBody,
  DisplayDocument,
  LevelSchemeBody,
  LevelSchemeCreateBody,
  PanelCreateBody,
  PanelEvent,
  PanelReading,
  PanelUpdateBody,
  ReadingBody,
  SensorSourceBody,
  SensorSourceCreateBody,
  StatusMessage,

  CommandRecord} from '@airpanel/contract';
import { generatePanelKey, hashSecret, hashesEqual } from './auth.js';
import type { Clock } from './clock.js';
import type { Store } from './db/store.js';
import { documentValiditySeconds, draftDocument, draftFingerprint, encodeDisplayDocument, issueDocument, type DocumentDraft, type EncodedDisplayDocument } from './documents.js';
import { ServiceError, notFound } from './errors.js';
import { writeFileAtomicSync } from '@airpanel/node-support/atomic-file';
import type { Logger } from './logger.js';
import type { BackendMetrics } from './metrics.js';
import type { MqttGateway, PanelCredentialVerifier, PanelMessageSink } from './mqtt/gateway.js';
import { NoMqttGateway } from './no-mqtt-gateway.js';

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

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Tolerated lead of a posted reading's time over the backend's clock. */
const MAX_READING_CLOCK_SKEW_MS = 10 * 60_000;

/** The current document of a panel as the display route serves it, ready to send. */
export interface CachedDisplay extends EncodedDisplayDocument {
  etag: string;
  /** Digest of the document's draft (all but revision and times): equal means nothing changed. */
  fingerprint: string;
}

export type Principal = { kind: 'admin' } | { kind: 'panel'; panelId: string };

export interface ServiceOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: BackendMetrics;
  adminToken: string;
  refreshIntervalSeconds: number;
  /** Base URL of the REST API that panels are given, e.g. http://10.0.0.5:8080/api/v1 (known once listening). */
  apiBaseUrl: () => string;
  /** Where the latest screenshot of each panel is kept (one PNG per panel). */
  screenshotsDir: string;
  /** A command not delivered within this long is void (the panel ignores it). */
  commandTtlSeconds?: number;
  /** A panel that polled over HTTP within this long counts as online. */
  httpOnlineWindowSeconds?: number;
}

/**
 * The backend's domain: panels, sensor sources, content, levels, display documents,
 * status and commands. HTTP routes and the MQTT gateway both call into this; it knows
 * neither fastify nor the broker, only the MqttGateway seam.
 *
 * Documents are re-issued as soon as anything they show changes (an edit, a reading), with
 * a new revision from the persisted counter, and published through the gateway.
 */
export class AirpanelService implements PanelMessageSink, PanelCredentialVerifier {
  private gateway: MqttGateway = new NoMqttGateway();
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: BackendMetrics;
  private readonly adminTokenHash: Buffer;
  readonly refreshIntervalSeconds: number;
  private readonly apiBaseUrl: () => string;
  private readonly commandTtlSeconds: number;
  private readonly screenshotsDir: string;
  private readonly httpOnlineWindowMs: number;

  private readonly displays = new Map<string, CachedDisplay>();
  private readonly keyHashes = new Map<string, Buffer>();
  /** Hex digest of a key → its panel, to tell "another panel's key" (403) from "no key" (401). */
  private readonly panelByKeyHash = new Map<string, string>();
  /** Last HTTP poll per panel; kept in memory on the hot path, flushed to the DB periodically. */
  private readonly httpSeen = new Map<string, number>();
  private readonly httpSeenDirty = new Set<string>();
  private readonly panelWrites: { panelId: string; write: () => void }[] = [];
  private panelWritesScheduled = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Sources whose last fetch failed: their panels' documents are left to lapse (see renewExpiring). */
  private readonly failingSources = new Set<string>();
  /** Set by createBackend: the panel-readings module (server-stub/src/panel-readings). */
  onPanelReading: ((panelId: string, reading: PanelReading) => void) | null = null;

  constructor(options: ServiceOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.adminTokenHash = hashSecret(options.adminToken);
    this.refreshIntervalSeconds = options.refreshIntervalSeconds;
    this.apiBaseUrl = options.apiBaseUrl;
    this.commandTtlSeconds = options.commandTtlSeconds ?? 600;
    this.screenshotsDir = options.screenshotsDir;
    this.httpOnlineWindowMs = (options.httpOnlineWindowSeconds ?? 900) * 1000;
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Seeds defaults on first start, loads the caches, and issues documents panels lack. */
  init(): void {
    const now = this.nowIso();
    this.store.transaction(() => {
      if (!this.store.levelSchemeExists(DEFAULT_LEVEL_SCHEME.id)) this.store.putLevelScheme(DEFAULT_LEVEL_SCHEME, now);
      if (!this.store.contentSetExists(DEFAULT_CONTENT_SET.id)) this.store.putContentSet(DEFAULT_CONTENT_SET, now);
      this.store.markAllOffline();
    });
    for (const { panel, keyHash } of this.store.listPanels()) this.indexKey(panel.id, keyHash);
    // encodeDisplayDocument checks each stored document against the contract: once, here.
    for (const { document, fingerprint } of this.store.listDocuments()) this.cacheDocument(encodeDisplayDocument(document), fingerprint);
    const missing = this.store.listPanels().map((p) => p.panel.id).filter((id) => !this.displays.has(id));
    this.reissue(missing, 'startup: no document yet');
  }

  attachGateway(gateway: MqttGateway): void {
    this.gateway = gateway;
  }

  /** Re-publishes every current document (retained), e.g. to a freshly started broker. */
  publishAll(): void {
    for (const cached of this.displays.values()) this.publish(cached);
  }

  /** Waits for publishes in flight (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.flushPanelWrites();
  }

  private track(work: Promise<unknown>, what: string, meta: Record<string, unknown>): void {
    const tracked = work
      .catch((error: unknown) => {
        this.metrics.publishFailures.inc();
        this.logger.warn(`mqtt: ${what} failed`, { ...meta, error: (error as Error).message });
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private publish(encoded: EncodedDisplayDocument): void {
    const { panelId, revision } = encoded.document;
    this.track(this.gateway.publishDisplay(encoded), 'publishing a display document', { panelId, revision });
  }

  // ---- authentication ----

  authenticate(token: string | null): Principal | null {
    if (token === null) return null;
    const hash = hashSecret(token);
    if (hashesEqual(hash, this.adminTokenHash)) return { kind: 'admin' };
    // A plain Map lookup by digest is fine here: the digest of a 256-bit key leaks nothing
    // useful through timing, and the stored digest is compared in constant time below.
    const panelId = this.panelByKeyHash.get(hash.toString('hex'));
    if (panelId === undefined) return null;
    const stored = this.keyHashes.get(panelId);
    return stored && hashesEqual(hash, stored) ? { kind: 'panel', panelId } : null;
  }

  verifyPanelKey(panelId: string, apiKey: string): boolean {
    const stored = this.keyHashes.get(panelId);
    if (!stored) return false;
    return hashesEqual(hashSecret(apiKey), stored);
  }

  private indexKey(panelId: string, keyHash: Buffer): void {
    const old = this.keyHashes.get(panelId);
    if (old) this.panelByKeyHash.delete(old.toString('hex'));
    this.keyHashes.set(panelId, keyHash);
    this.panelByKeyHash.set(keyHash.toString('hex'), panelId);
  }

  private unindexKey(panelId: string): void {
    const old = this.keyHashes.get(panelId);
    if (old) this.panelByKeyHash.delete(old.toString('hex'));
    this.keyHashes.delete(panelId);
  }

  // ---- documents ----

  display(panelId: string): CachedDisplay | null {
    return this.displays.get(panelId) ?? null;
  }

  /** A panel fetched its document over HTTP: it is alive, whatever MQTT says. */
  noteHttpPoll(panelId: string): void {
    this.httpSeen.set(panelId, this.clock.now());
    this.httpSeenDirty.add(panelId);
  }

  flushHttpSeen(): void {
    if (this.httpSeenDirty.size === 0) return;
    const dirty = [...this.httpSeenDirty];
    this.httpSeenDirty.clear();
    this.store.transaction(() => {
      for (const panelId of dirty) {
        const at = this.httpSeen.get(panelId);
        if (at !== undefined && this.store.panelExists(panelId)) this.store.recordHttpSeen(panelId, new Date(at).toISOString());
      }
    });
  }

  private cacheDocument(encoded: EncodedDisplayDocument, fingerprint: string): void {
    this.displays.set(encoded.document.panelId, { ...encoded, etag: displayETag(encoded.document), fingerprint });
  }

  /**
   * Rebuilds the documents of `panelIds` and issues a new revision for each one whose
   * content changed (or for every one, with `renew`, to extend validity). All at once, for
   * callers that need the result before they return (startup, one panel, renewals).
   */
  private reissue(panelIds: Iterable<string>, reason: string, renew = false): DisplayDocument[] {
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
  private async reissueYielding(panelIds: readonly string[], reason: string): Promise<number> {
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
    const validity = documentValiditySeconds(this.refreshIntervalSeconds);
    const changed = this.store.transaction(() => {
      const schemes = memoize((id: string) => this.store.getLevelScheme(id));
      const contentSets = memoize((id: string) => this.store.getContentSet(id));
      const readings = memoize((sourceId: string) => this.store.latestReading(sourceId));
      const drafts: { draft: DocumentDraft; fingerprint: string }[] = [];
      for (const panelId of panelIds) {
        const row = this.store.getPanel(panelId);
        if (!row) continue;
        const { panel } = row;
        const scheme = schemes(panel.levelSchemeId);
        const contentSet = contentSets(panel.contentSetId);
        if (!scheme || !contentSet) throw new Error(`panel ${panelId} refers to a missing scheme or content set`);
        const reading = panel.sensorSourceId ? readings(panel.sensorSourceId) : null;
        const result = draftDocument({ panel, scheme, contentSet, reading, previousState: reading ? this.store.getLevelState(panelId) : null });
        if (result.state) this.store.putLevelState(panelId, result.state);
        if (result.usedFallbackContent) {
          this.logger.warn('content set lacks a level; showing generated content', { panelId, contentSetId: contentSet.id, levelId: result.draft.level.id });
        }
        const fingerprint = draftFingerprint(result.draft);
        if (!renew && this.displays.get(panelId)?.fingerprint === fingerprint) continue;
        drafts.push({ draft: result.draft, fingerprint });
      }
      if (drafts.length === 0) return [];
      const firstRevision = this.store.takeRevisions(drafts.length);
      const issuedAt = this.clock.now();
      return drafts.map(({ draft, fingerprint }, i) => {
        const encoded = issueDocument(draft, firstRevision + i, issuedAt, validity);
        this.store.putDocument(encoded, fingerprint);
        return { encoded, fingerprint };
      });
    });
    for (const { encoded, fingerprint } of changed) {
      this.cacheDocument(encoded, fingerprint);
      this.metrics.documentsIssued.inc();
      this.publish(encoded);
    }
    return changed.map((c) => c.encoded.document);
  }

  private logIssued(issued: readonly DisplayDocument[], reason: string): void {
    if (issued.length === 0) return;
    const first = issued[0]!;
    if (issued.length === 1) {
      this.logger.info('display document issued', { panelId: first.panelId, revision: first.revision, level: first.level.id, reason });
      return;
    }
    // One line per edit, not per panel: a fleet-wide edit would otherwise log thousands.
    this.logger.info('display documents issued', {
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
    const horizon = this.clock.now() + this.refreshIntervalSeconds * 1000;
    const due: string[] = [];
    for (const [panelId, cached] of this.displays) {
      if (Date.parse(cached.document.validUntil) > horizon) continue;
      const source = this.store.getPanel(panelId)?.panel.sensorSourceId;
      if (source && this.failingSources.has(source)) continue;
      due.push(panelId);
    }
    return this.reissue(due, 'renewal before validUntil', true).length;
  }

  /** The refresh loop reports a source's health, for renewal decisions. */
  noteSourceHealth(sourceId: string, failing: boolean): void {
    if (failing) this.failingSources.add(sourceId);
    else this.failingSources.delete(sourceId);
  }

  // ---- panels ----

  /** `status` given: the caller read it (and flushed the panel writes) already. */
  private summary(panel: Panel, status = this.statusOf(panel.id)): PanelSummary {
    const httpSeenMs = this.httpSeen.get(panel.id) ?? (status?.httpSeenAt ? Date.parse(status.httpSeenAt) : null);
    const mqttSeenMs = status?.lastSeenAt ? Date.parse(status.lastSeenAt) : null;
    const lastSeenMs = Math.max(httpSeenMs ?? -Infinity, mqttSeenMs ?? -Infinity);
    const polledRecently = httpSeenMs !== null && this.clock.now() - httpSeenMs < this.httpOnlineWindowMs;
    const currentRevision = this.displays.get(panel.id)?.document.revision ?? null;
    const displayedRevision = status?.displayedRevision ?? null;
    return PanelSummary.parse({
      ...panel,
      online: (status?.online ?? false) || polledRecently,
      lastSeenAt: Number.isFinite(lastSeenMs) ? new Date(lastSeenMs).toISOString() : null,
      state: status?.state ?? null,
      firmwareVersion: status?.firmwareVersion ?? null,
      currentRevision,
      displayedRevision,
      lagging: currentRevision !== null && displayedRevision !== null && displayedRevision < currentRevision,
      lastError: status?.lastError ?? null,
      ownSensor: status?.ownSensor ?? null,
    });
  }

  private statusOf(panelId: string) {
    this.flushPanelWrites();
    return this.store.getStatus(panelId);
  }

  private requirePanel(panelId: string): Panel {
    const row = this.store.getPanel(panelId);
    if (!row) throw notFound('panel', panelId);
    return row.panel;
  }

  private checkReferences(refs: { sensorSourceId?: string | null; contentSetId?: string; levelSchemeId?: string }): void {
    if (refs.sensorSourceId && !this.store.sensorSourceExists(refs.sensorSourceId)) {
      throw new ServiceError('bad-request', 'unknown-reference', `sensor source "${refs.sensorSourceId}" does not exist`);
    }
    if (refs.contentSetId && !this.store.contentSetExists(refs.contentSetId)) {
      throw new ServiceError('bad-request', 'unknown-reference', `content set "${refs.contentSetId}" does not exist`);
    }
    if (refs.levelSchemeId && !this.store.levelSchemeExists(refs.levelSchemeId)) {
      throw new ServiceError('bad-request', 'unknown-reference', `level scheme "${refs.levelSchemeId}" does not exist`);
    }
  }

  endpointsFor(panelId: string): PanelRegistration['endpoints'] {
    return { apiBaseUrl: this.apiBaseUrl().replace(/\/+$/, ''), mqttUrl: this.gateway.panelUrl || null, topics: panelTopics(panelId) };
  }

  async createPanel(body: PanelCreateBody): Promise<PanelRegistration> {
    const id = body.id ?? this.freshId('panel', (candidate) => this.store.panelExists(candidate));
    this.checkReferences(body);
    const panel = Panel.parse({
      id,
      name: body.name,
      location: body.location ?? null,
      sensorSourceId: body.sensorSourceId ?? null,
      contentSetId: body.contentSetId ?? DEFAULT_CONTENT_SET.id,
      levelSchemeId: body.levelSchemeId ?? DEFAULT_LEVEL_SCHEME.id,
      createdAt: this.nowIso(),
    });
    const apiKey = generatePanelKey();
    const keyHash = hashSecret(apiKey);
    this.store.transaction(() => {
      if (this.store.panelExists(id)) throw new ServiceError('conflict', 'already-exists', `panel "${id}" already exists`);
      this.store.insertPanel(panel, keyHash);
    });
    this.indexKey(id, keyHash);
    // The broker must know the key before the panel first tries it; a panel the broker
    // cannot learn about is not created (the caller may simply retry).
    try {
      await this.gateway.registerPanelCredentials(id, apiKey);
    } catch (error) {
      this.store.deletePanel(id);
      this.unindexKey(id);
      throw new ServiceError('unavailable', 'mqtt-unavailable', `panel "${id}" was not created: the MQTT broker did not take its credentials (${(error as Error).message})`);
    }
    this.reissue([id], 'panel created');
    this.logger.info('panel created', { panelId: id });
    return PanelRegistration.parse({ panel, apiKey, endpoints: this.endpointsFor(id) });
  }

  async rotatePanelKey(panelId: string): Promise<ApiKeyRotation> {
    this.requirePanel(panelId);
    const apiKey = generatePanelKey();
    const keyHash = hashSecret(apiKey);
    // Broker first: if it refuses, the old key keeps working everywhere.
    try {
      await this.gateway.registerPanelCredentials(panelId, apiKey);
    } catch (error) {
      throw new ServiceError('unavailable', 'mqtt-unavailable', `the key of panel "${panelId}" was not changed: the MQTT broker did not take it (${(error as Error).message})`);
    }
    this.store.setPanelKeyHash(panelId, keyHash);
    this.indexKey(panelId, keyHash);
    this.logger.info('panel key rotated', { panelId });
    return { panelId, apiKey };
  }

  panelCount(): number {
    return this.keyHashes.size;
  }

  /** What each panel last said about its firmware and OTA progress (for the release feed). */
  panelUpdateReports(): { panelId: string; firmwareVersion: string | null; update: unknown }[] {
    this.flushPanelWrites();
    return this.store.listUpdateReports();
  }

  listPanels(): PanelSummary[] {
    this.flushPanelWrites();
    const statuses = this.store.listStatuses();
    return this.store.listPanels().map(({ panel }) => this.summary(panel, statuses.get(panel.id) ?? null));
  }

  getPanel(panelId: string): PanelSummary {
    return this.summary(this.requirePanel(panelId));
  }

  updatePanel(panelId: string, body: PanelUpdateBody): PanelSummary {
    const current = this.requirePanel(panelId);
    this.checkReferences(body);
    const next = Panel.parse({ ...current, ...body });
    this.store.transaction(() => {
      this.store.updatePanel(next);
      // Hysteresis memory belongs to one sensor's history; a new sensor starts afresh.
      if (next.sensorSourceId !== current.sensorSourceId) this.store.deleteLevelState(panelId);
    });
    this.reissue([panelId], 'panel updated');
    return this.summary(next);
  }

  async deletePanel(panelId: string): Promise<void> {
    this.requirePanel(panelId);
    this.flushPanelWrites();
    this.store.deletePanel(panelId);
    this.unindexKey(panelId);
    this.displays.delete(panelId);
    rmSync(this.screenshotFile(panelId), { force: true });
    this.httpSeen.delete(panelId);
    this.httpSeenDirty.delete(panelId);
    const [credentials, display] = await Promise.allSettled([this.gateway.removePanelCredentials(panelId), this.gateway.clearDisplay(panelId)]);
    // The panel is gone from the backend either way; a broker that missed it is cleaned up
    // by the account reconciliation at the next start.
    if (credentials.status === 'rejected') this.logger.error('mqtt: could not remove the credentials of a deleted panel', { panelId, error: String(credentials.reason) });
    if (display.status === 'rejected') this.logger.warn('mqtt: could not clear the retained document of a deleted panel', { panelId, error: String(display.reason) });
    this.logger.info('panel deleted', { panelId });
  }

  // ---- level schemes ----

  listLevelSchemes(): LevelScheme[] {
    return this.store.listLevelSchemes();
  }

  getLevelScheme(id: string): LevelScheme {
    const scheme = this.store.getLevelScheme(id);
    if (!scheme) throw notFound('level scheme', id);
    return scheme;
  }

  createLevelScheme(body: LevelSchemeCreateBody): LevelScheme {
    const id = body.id ?? this.freshId('scheme', (c) => this.store.levelSchemeExists(c));
    const scheme = LevelScheme.parse({ ...body, id });
    this.store.transaction(() => {
      if (this.store.levelSchemeExists(id)) throw new ServiceError('conflict', 'already-exists', `level scheme "${id}" already exists`);
      this.store.putLevelScheme(scheme, this.nowIso());
    });
    return scheme;
  }

  /** Answers once every panel using the scheme has its new document (published as they are built). */
  async replaceLevelScheme(id: string, body: LevelSchemeBody): Promise<LevelScheme> {
    this.getLevelScheme(id);
    const scheme = LevelScheme.parse({ ...body, id });
    this.store.putLevelScheme(scheme, this.nowIso());
    await this.reissueYielding(this.store.panelIdsUsing('level_scheme_id', id), `level scheme ${id} changed`);
    return scheme;
  }

  deleteLevelScheme(id: string): void {
    this.getLevelScheme(id);
    if (id === DEFAULT_LEVEL_SCHEME.id) throw new ServiceError('conflict', 'default-resource', `level scheme "${id}" is the default for new panels and cannot be deleted`);
    this.refuseIfUsed('level_scheme_id', id, 'level scheme');
    this.store.deleteLevelScheme(id);
  }

  private refuseIfUsed(column: 'sensor_source_id' | 'content_set_id' | 'level_scheme_id', id: string, what: string): void {
    const users = this.store.panelIdsUsing(column, id);
    if (users.length > 0) {
      throw new ServiceError('conflict', 'in-use', `${what} "${id}" is used by ${users.length} panel(s); reassign them first`, { panelIds: users.slice(0, 50) });
    }
  }

  // ---- content sets ----

  listContentSets(): ContentSet[] {
    return this.store.listContentSets();
  }

  getContentSet(id: string): ContentSet {
    const set = this.store.getContentSet(id);
    if (!set) throw notFound('content set', id);
    return set;
  }

  createContentSet(body: ContentSetCreateBody): ContentSet {
    const id = body.id ?? this.freshId('content', (c) => this.store.contentSetExists(c));
    const set = ContentSet.parse({ ...body, id });
    this.store.transaction(() => {
      if (this.store.contentSetExists(id)) throw new ServiceError('conflict', 'already-exists', `content set "${id}" already exists`);
      this.store.putContentSet(set, this.nowIso());
    });
    return set;
  }

  /** Answers once every panel using the set has its new document (published as they are built). */
  async replaceContentSet(id: string, body: ContentSetBody): Promise<ContentSet> {
    this.getContentSet(id);
    const set = ContentSet.parse({ ...body, id });
    this.store.putContentSet(set, this.nowIso());
    await this.reissueYielding(this.store.panelIdsUsing('content_set_id', id), `content set ${id} changed`);
    return set;
  }

  deleteContentSet(id: string): void {
    this.getContentSet(id);
    if (id === DEFAULT_CONTENT_SET.id) throw new ServiceError('conflict', 'default-resource', `content set "${id}" is the default for new panels and cannot be deleted`);
    this.refuseIfUsed('content_set_id', id, 'content set');
    this.store.deleteContentSet(id);
  }

  // ---- sensor sources and readings ----

  /** Called when a source's definition changes (the refresh loop re-fetches it at once). */
  onSourceChanged: (sourceId: string) => void = () => undefined;

  listSensorSources(): SensorSource[] {
    return this.store.listSensorSources();
  }

  getSensorSource(id: string): SensorSource {
    const source = this.store.getSensorSource(id);
    if (!source) throw notFound('sensor source', id);
    return source;
  }

  createSensorSource(body: SensorSourceCreateBody): SensorSource {
    const id = body.id ?? this.freshId('sensor', (c) => this.store.sensorSourceExists(c));
    const source = SensorSource.parse({ ...body, id });
    this.store.transaction(() => {
      if (this.store.sensorSourceExists(id)) throw new ServiceError('conflict', 'already-exists', `sensor source "${id}" already exists`);
      this.store.putSensorSource(source, this.nowIso());
    });
    this.onSourceChanged(id);
    return source;
  }

  replaceSensorSource(id: string, body: SensorSourceBody): SensorSource {
    this.getSensorSource(id);
    const source = SensorSource.parse({ ...body, id });
    this.store.putSensorSource(source, this.nowIso());
    this.failingSources.delete(id);
    this.onSourceChanged(id);
    return source;
  }

  deleteSensorSource(id: string): void {
    this.getSensorSource(id);
    this.refuseIfUsed('sensor_source_id', id, 'sensor source');
    this.store.deleteSensorSource(id);
    this.failingSources.delete(id);
    this.onSourceChanged(id);
  }

  /** A reading posted by an operator or simulator; only simulated sources take them. */
  async postReading(sourceId: string, body: ReadingBody): Promise<Reading> {
    const source = this.getSensorSource(sourceId);
    if (source.spec.kind !== 'simulated') {
      throw new ServiceError('conflict', 'not-simulated', `sensor source "${sourceId}" is ${source.spec.kind}: its readings come from its vendor, not from the API`);
    }
    // A reading from the future would stay "the latest" and hide every real one after it.
    if (body.measuredAt && Date.parse(body.measuredAt) > this.clock.now() + MAX_READING_CLOCK_SKEW_MS) {
      throw new ServiceError('bad-request', 'reading-in-future', `measuredAt ${body.measuredAt} is in the future (more than ${MAX_READING_CLOCK_SKEW_MS / 60_000} minutes ahead of the backend's clock)`);
    }
    const reading = Reading.parse({ measuredAt: body.measuredAt ?? this.nowIso(), source: source.name, values: body.values });
    await this.recordReading(sourceId, reading);
    return reading;
  }

  /**
   * Stores a reading and, if it is the source's newest, re-evaluates the panels that use it
   * (a city may share one sensor across the fleet: see reissueYielding).
   */
  async recordReading(sourceId: string, reading: Reading): Promise<void> {
    const latest = this.store.putReading(sourceId, reading);
    this.metrics.readingsRecorded.inc();
    if (latest) await this.reissueYielding(this.store.panelIdsUsing('sensor_source_id', sourceId), `new reading from ${sourceId}`);
  }

  listReadings(sourceId: string, limit: number): Reading[] {
    this.getSensorSource(sourceId);
    return this.store.listReadings(sourceId, limit);
  }

  // ---- commands ----

  async sendCommand(panelId: string, body: CommandBody): Promise<CommandRecord> {
    this.requirePanel(panelId);
    const now = this.clock.now();
    const command = Command.parse({
      id: randomUUID(),
      panelId,
      kind: body.kind,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.commandTtlSeconds * 1000).toISOString(),
    });
    this.store.insertCommand(command);
    this.logger.info('command issued', { panelId, commandId: command.id, kind: command.kind });
    try {
      await this.gateway.publishCommand(command);
    } catch (error) {
      this.metrics.publishFailures.inc();
      throw new ServiceError('unavailable', 'mqtt-unavailable', `the command was recorded but the MQTT broker did not take it: ${(error as Error).message}`, { commandId: command.id });
    }
    return { ...command, acks: [] };
  }

  listCommands(panelId: string, limit: number): CommandRecord[] {
    this.requirePanel(panelId);
    this.flushPanelWrites();
    return this.store.listCommands(panelId, limit);
  }

  getCommand(panelId: string, commandId: string): CommandRecord {
    this.requirePanel(panelId);
    this.flushPanelWrites();
    const record = this.store.getCommand(panelId, commandId);
    if (!record) throw notFound('command', commandId);
    return record;
  }

  // ---- screenshots (the answer to a `screenshot` command) ----

  private screenshotFile(panelId: string): string {
    // panelId is a validated Identifier: no separators, safe as a file name.
    return path.join(this.screenshotsDir, `${panelId}.png`);
  }

  saveScreenshot(panelId: string, png: Buffer): void {
    this.requirePanel(panelId);
    if (png.length < PNG_SIGNATURE.length || !png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
      throw new ServiceError('bad-request', 'not-png', 'the body is not a PNG image');
    }
    mkdirSync(this.screenshotsDir, { recursive: true, mode: 0o700 });
    writeFileAtomicSync(this.screenshotFile(panelId), png, { mode: 0o600 });
    this.logger.info('screenshot received', { panelId, bytes: png.length });
  }

  screenshot(panelId: string): { png: Buffer; takenAt: string } {
    this.requirePanel(panelId);
    try {
      const file = this.screenshotFile(panelId);
      return { png: readFileSync(file), takenAt: statSync(file).mtime.toISOString() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ServiceError('not-found', 'not-found', `panel "${panelId}" has sent no screenshot yet (send it the screenshot command)`);
      throw error;
    }
  }

  // ---- PanelMessageSink (messages from panels, validated by the gateway) ----

  onStatus(panelId: string, message: StatusMessage): void {
    if (!this.keyHashes.has(panelId)) {
      this.logger.warn('status from an unknown panel ignored', { panelId });
      return;
    }
    const receivedAt = this.nowIso();
    this.queuePanelWrite(panelId, () => this.store.recordStatus(panelId, message, receivedAt));
  }

  onEvent(panelId: string, event: PanelEvent): void {
    if (!this.keyHashes.has(panelId)) {
      this.logger.warn('event from an unknown panel ignored', { panelId });
      return;
    }
    if (event.type === 'command-ack') {
      const owner = this.store.commandPanelId(event.ack.commandId);
      if (owner !== panelId) {
        this.logger.warn('ack for an unknown command ignored', { panelId, commandId: event.ack.commandId });
        return;
      }
      this.queuePanelWrite(panelId, () => this.store.insertAck(event.ack));
      this.logger.info('command acknowledged', { panelId, commandId: event.ack.commandId, status: event.ack.status });
      return;
    }
    if (event.type === 'sensor-reading') {
      // Written at once, not batched: the broker acknowledges the reading to the panel (which
      // then forgets it) only after this returns.
      if (this.onPanelReading) this.onPanelReading(panelId, event.reading);
      else this.logger.warn('panel reading dropped: no panel-readings module', { panelId });
      return;
    }
    if (event.type === 'level-disagreement') {
      this.logger.warn('panel decided another level on its own', { panelId, ownLevel: event.ownLevel, backendLevel: event.backendLevel, backendRevision: event.backendRevision });
      return;
    }
    const at = this.nowIso();
    this.queuePanelWrite(panelId, () => this.store.recordStateTransition(panelId, event.to, at));
    this.logger.info('panel state transition', { panelId, from: event.from, to: event.to, reason: event.reason });
  }

  /**
   * What panels report is written in order, in one transaction per event-loop turn: a fleet
   * reporting its new revision at once would otherwise cost one commit per panel (10,000 after
   * a fleet-wide edit). Every read of those rows flushes first, so nothing reads stale data.
   * A write for a panel deleted in the meantime is dropped.
   */
  private queuePanelWrite(panelId: string, write: () => void): void {
    this.panelWrites.push({ panelId, write });
    if (this.panelWritesScheduled) return;
    this.panelWritesScheduled = true;
    setImmediate(() => this.flushPanelWrites());
  }

  flushPanelWrites(): void {
    this.panelWritesScheduled = false;
    if (this.panelWrites.length === 0) return;
    const writes = this.panelWrites.splice(0);
    try {
      this.store.transaction(() => {
        for (const { panelId, write } of writes) {
          if (!this.keyHashes.has(panelId)) continue;
          try {
            write();
          } catch (error) {
            // One bad record must not lose the others of the batch.
            this.logger.error('recording a panel message failed', { panelId, error: (error as Error).message });
          }
        }
      });
    } catch (error) {
      // Runs from setImmediate: a throw here would end the process. The database is gone
      // (a report that arrived while the backend was shutting down) or failing as a whole.
      this.logger.error('recording panel messages failed', { count: writes.length, error: (error as Error).message });
    }
  }

  // ---- helpers ----

  private freshId(prefix: string, taken: (candidate: string) => boolean): string {
    for (;;) {
      const candidate = `${prefix}-${randomUUID().slice(0, 8)}`;
      if (!taken(candidate)) return candidate;
    }
  }
}
