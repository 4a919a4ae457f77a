import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
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
} from '../../src-main/common/index.js';
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
  PanelUpdateBody,
  ReadingBody,
  SensorSourceBody,
  SensorSourceCreateBody,
  StatusMessage,

  CommandRecord} from '../../src-main/common/index.js';
import { generatePanelKey, hashSecret, hashesEqual } from './auth.js';
import type { Clock } from './clock.js';
import type { Store } from './db/store.js';
import { documentValiditySeconds, draftDocument, draftFingerprint, issueDocument } from './documents.js';
import { ServiceError, notFound } from './errors.js';
import { writeFileAtomicSync } from '../../src-main/common-node/atomic-file.js';
import type { Logger } from './logger.js';
import type { BackendMetrics } from './metrics.js';
import type { MqttGateway, PanelCredentialVerifier, PanelMessageSink } from './mqtt/gateway.js';
import { NoMqttGateway } from './no-mqtt-gateway.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Tolerated lead of a posted reading's time over the backend's clock. */
const MAX_READING_CLOCK_SKEW_MS = 10 * 60_000;

/** The current document of a panel as the display route serves it, ready to send. */
export interface CachedDisplay {
  document: DisplayDocument;
  etag: string;
  /** The serialized document: the hot path sends these bytes without touching the DB. */
  json: string;
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
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Sources whose last fetch failed: their panels' documents are left to lapse (see renewExpiring). */
  private readonly failingSources = new Set<string>();

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
    for (const { document } of this.store.listDocuments()) this.cacheDocument(document);
    const missing = this.store.listPanels().map((p) => p.panel.id).filter((id) => !this.displays.has(id));
    this.reissue(missing, 'startup: no document yet');
  }

  attachGateway(gateway: MqttGateway): void {
    this.gateway = gateway;
  }

  /** Re-publishes every current document (retained), e.g. to a freshly started broker. */
  publishAll(): void {
    for (const cached of this.displays.values()) this.publish(cached.document);
  }

  /** Waits for publishes in flight (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
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

  private publish(document: DisplayDocument): void {
    this.track(this.gateway.publishDisplay(document), 'publishing a display document', { panelId: document.panelId, revision: document.revision });
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

  private cacheDocument(document: DisplayDocument): void {
    this.displays.set(document.panelId, { document, etag: displayETag(document), json: JSON.stringify(document) });
  }

  /**
   * Rebuilds the documents of `panelIds` and issues a new revision for each one whose
   * content changed (or for every one, with `renew`, to extend validity).
   */
  private reissue(panelIds: Iterable<string>, reason: string, renew = false): DisplayDocument[] {
    const issued: DisplayDocument[] = [];
    const validity = documentValiditySeconds(this.refreshIntervalSeconds);
    for (const panelId of panelIds) {
      const document = this.store.transaction(() => {
        const row = this.store.getPanel(panelId);
        if (!row) return null;
        const { panel } = row;
        const scheme = this.store.getLevelScheme(panel.levelSchemeId);
        const contentSet = this.store.getContentSet(panel.contentSetId);
        if (!scheme || !contentSet) throw new Error(`panel ${panelId} refers to a missing scheme or content set`);
        const reading = panel.sensorSourceId ? this.store.latestReading(panel.sensorSourceId) : null;
        const result = draftDocument({ panel, scheme, contentSet, reading, previousState: this.store.getLevelState(panelId) });
        if (result.state) this.store.putLevelState(panelId, result.state);
        if (result.usedFallbackContent) {
          this.logger.warn('content set lacks a level; showing generated content', { panelId, contentSetId: contentSet.id, levelId: result.draft.level.id });
        }
        const fingerprint = draftFingerprint(result.draft);
        const current = this.store.getDocument(panelId);
        if (current && current.fingerprint === fingerprint && !renew) return null;
        const doc = issueDocument(result.draft, this.store.nextRevision(), this.clock.now(), validity);
        this.store.putDocument(doc, fingerprint);
        return doc;
      });
      if (!document) continue;
      this.cacheDocument(document);
      this.metrics.documentsIssued.inc();
      this.logger.info('display document issued', { panelId, revision: document.revision, level: document.level.id, reason });
      this.publish(document);
      issued.push(document);
    }
    return issued;
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

  private summary(panel: Panel, status = this.store.getStatus(panel.id)): PanelSummary {
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
    });
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
    return this.store.listUpdateReports();
  }

  listPanels(): PanelSummary[] {
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

  replaceLevelScheme(id: string, body: LevelSchemeBody): LevelScheme {
    this.getLevelScheme(id);
    const scheme = LevelScheme.parse({ ...body, id });
    this.store.putLevelScheme(scheme, this.nowIso());
    this.reissue(this.store.panelIdsUsing('level_scheme_id', id), `level scheme ${id} changed`);
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

  replaceContentSet(id: string, body: ContentSetBody): ContentSet {
    this.getContentSet(id);
    const set = ContentSet.parse({ ...body, id });
    this.store.putContentSet(set, this.nowIso());
    this.reissue(this.store.panelIdsUsing('content_set_id', id), `content set ${id} changed`);
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
  postReading(sourceId: string, body: ReadingBody): Reading {
    const source = this.getSensorSource(sourceId);
    if (source.spec.kind !== 'simulated') {
      throw new ServiceError('conflict', 'not-simulated', `sensor source "${sourceId}" is ${source.spec.kind}: its readings come from its vendor, not from the API`);
    }
    // A reading from the future would stay "the latest" and hide every real one after it.
    if (body.measuredAt && Date.parse(body.measuredAt) > this.clock.now() + MAX_READING_CLOCK_SKEW_MS) {
      throw new ServiceError('bad-request', 'reading-in-future', `measuredAt ${body.measuredAt} is in the future (more than ${MAX_READING_CLOCK_SKEW_MS / 60_000} minutes ahead of the backend's clock)`);
    }
    const reading = Reading.parse({ measuredAt: body.measuredAt ?? this.nowIso(), source: source.name, values: body.values });
    this.recordReading(sourceId, reading);
    return reading;
  }

  /** Stores a reading and, if it is the source's newest, re-evaluates the panels that use it. */
  recordReading(sourceId: string, reading: Reading): void {
    const latest = this.store.putReading(sourceId, reading);
    this.metrics.readingsRecorded.inc();
    if (latest) this.reissue(this.store.panelIdsUsing('sensor_source_id', sourceId), `new reading from ${sourceId}`);
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
    return this.store.listCommands(panelId, limit);
  }

  getCommand(panelId: string, commandId: string): CommandRecord {
    this.requirePanel(panelId);
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
    if (!this.store.panelExists(panelId)) {
      this.logger.warn('status from an unknown panel ignored', { panelId });
      return;
    }
    this.store.recordStatus(panelId, message, this.nowIso());
  }

  onEvent(panelId: string, event: PanelEvent): void {
    if (!this.store.panelExists(panelId)) {
      this.logger.warn('event from an unknown panel ignored', { panelId });
      return;
    }
    if (event.type === 'command-ack') {
      const owner = this.store.commandPanelId(event.ack.commandId);
      if (owner !== panelId) {
        this.logger.warn('ack for an unknown command ignored', { panelId, commandId: event.ack.commandId });
        return;
      }
      this.store.insertAck(event.ack);
      this.logger.info('command acknowledged', { panelId, commandId: event.ack.commandId, status: event.ack.status });
      return;
    }
    this.store.recordStateTransition(panelId, event.to, this.nowIso());
    this.logger.info('panel state transition', { panelId, from: event.from, to: event.to, reason: event.reason });
  }

  // ---- helpers ----

  private freshId(prefix: string, taken: (candidate: string) => boolean): string {
    for (;;) {
      const candidate = `${prefix}-${randomUUID().slice(0, 8)}`;
      if (!taken(candidate)) return candidate;
    }
  }
}
