import {
  DEFAULT_CONTENT_SET,
  DEFAULT_LEVEL_SCHEME,
  Panel,
  PanelRegistration,
  PanelSummary,
  panelTopics,
  type ApiKeyRotation,
  type ClientCertificateIssue,
  type PanelCreateBody,
  type PanelUpdateBody,
} from '@airpanel/contract';
import { generatePanelKey, hashSecret } from '../auth.js';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import type { DocumentIssuer } from '../documents/issuer.js';
import type { DocumentStore } from '../documents/store.js';
import { ServiceError, notFound } from '../errors.js';
import { freshId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { MqttGateway } from '../mqtt/gateway.js';
import type { HttpPollTracker } from '../status/http-polls.js';
import type { PanelCertificateIssuer } from '../tls/panel-certificates.js';
import type { PanelReportQueue } from '../status/report-queue.js';
import type { StatusRow, StatusStore } from '../status/store.js';
import type { PanelKeyIndex } from './key-index.js';
import type { PanelStore } from './store.js';

export interface PanelServiceOptions {
  store: Store;
  panels: PanelStore;
  keys: PanelKeyIndex;
  issuer: DocumentIssuer;
  documents: DocumentStore;
  status: StatusStore;
  reports: PanelReportQueue;
  httpPolls: HttpPollTracker;
  /** Does a definition a panel may refer to exist? */
  references: { sensorSourceExists(id: string): boolean; contentSetExists(id: string): boolean; levelSchemeExists(id: string): boolean };
  /** What else goes when a panel is deleted (its screenshot). */
  onDeleted(panelId: string): void;
  gateway(): MqttGateway;
  /** Base URL of the REST API that panels are given, e.g. http://10.0.0.5:8080/api/v1 (known once listening). */
  apiBaseUrl(): string;
  clock: Clock;
  logger: Logger;
  /** A panel that polled over HTTP within this long counts as online. */
  httpOnlineWindowMs: number;
  /** The private CA (`--tls-ca-dir`): its certificate goes into every registration, and it signs panels' client certificates. */
  certificates?: PanelCertificateIssuer | null;
}

/**
 * Panels: registration (with its API key, shown once), assignments, key rotation, deletion,
 * and the fleet view that joins each panel with what it last reported.
 */
export class PanelService {
  constructor(private readonly o: PanelServiceOptions) {}

  private nowIso(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  /** The panel, or a 404. */
  require(panelId: string): Panel {
    const row = this.o.panels.get(panelId);
    if (!row) throw notFound('panel', panelId);
    return row.panel;
  }

  count(): number {
    return this.o.keys.size;
  }

  /** `status` given: the caller read it (and flushed the panel reports) already. */
  private summary(panel: Panel, status: StatusRow | null = this.statusOf(panel.id)): PanelSummary {
    const polledMs = this.o.httpPolls.lastMs(panel.id);
    const httpSeenMs = polledMs ?? (status?.httpSeenAt ? Date.parse(status.httpSeenAt) : null);
    const mqttSeenMs = status?.lastSeenAt ? Date.parse(status.lastSeenAt) : null;
    const lastSeenMs = Math.max(httpSeenMs ?? -Infinity, mqttSeenMs ?? -Infinity);
    const polledRecently = httpSeenMs !== null && this.o.clock.now() - httpSeenMs < this.o.httpOnlineWindowMs;
    const currentRevision = this.o.issuer.display(panel.id)?.document.revision ?? null;
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
      lastStart: status?.lastStart ?? null,
    });
  }

  private statusOf(panelId: string): StatusRow | null {
    this.o.reports.flush();
    return this.o.status.get(panelId);
  }

  private checkReferences(refs: { sensorSourceId?: string | null; contentSetId?: string; levelSchemeId?: string }): void {
    const { references } = this.o;
    if (refs.sensorSourceId && !references.sensorSourceExists(refs.sensorSourceId)) {
      throw new ServiceError('bad-request', 'unknown-reference', `sensor source "${refs.sensorSourceId}" does not exist`);
    }
    if (refs.contentSetId && !references.contentSetExists(refs.contentSetId)) {
      throw new ServiceError('bad-request', 'unknown-reference', `content set "${refs.contentSetId}" does not exist`);
    }
    if (refs.levelSchemeId && !references.levelSchemeExists(refs.levelSchemeId)) {
      throw new ServiceError('bad-request', 'unknown-reference', `level scheme "${refs.levelSchemeId}" does not exist`);
    }
  }

  endpointsFor(panelId: string): PanelRegistration['endpoints'] {
    return {
      apiBaseUrl: this.o.apiBaseUrl().replace(/\/+$/, ''),
      mqttUrl: this.o.gateway().panelUrl || null,
      topics: panelTopics(panelId),
    };
  }

  async create(body: PanelCreateBody): Promise<PanelRegistration> {
    const { panels, keys } = this.o;
    const id = body.id ?? freshId('panel', (candidate) => panels.exists(candidate));
    this.checkReferences(body);
    const csr = body.clientCertificateRequest;
    if (csr !== undefined) await this.checkCertificateRequest(csr);
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
    this.o.store.transaction(() => {
      if (panels.exists(id)) throw new ServiceError('conflict', 'already-exists', `panel "${id}" already exists`);
      panels.insert(panel, keyHash);
    });
    keys.set(id, keyHash);
    // The broker must know the key before the panel first tries it; a panel the broker
    // cannot learn about is not created (the caller may simply retry).
    try {
      await this.o.gateway().registerPanelCredentials(id, apiKey);
    } catch (error) {
      panels.delete(id);
      keys.remove(id);
      throw new ServiceError(
        'unavailable',
        'mqtt-unavailable',
        `panel "${id}" was not created: the MQTT broker did not take its credentials (${(error as Error).message})`,
      );
    }
    let clientCertificate: string | null = null;
    if (csr !== undefined) {
      try {
        clientCertificate = await this.o.certificates!.sign(id, csr);
      } catch (error) {
        panels.delete(id);
        keys.remove(id);
        await this.o
          .gateway()
          .removePanelCredentials(id)
          .catch(() => undefined);
        throw new ServiceError(
          'unavailable',
          'certificate-not-issued',
          `panel "${id}" was not created: its client certificate could not be issued (${(error as Error).message})`,
        );
      }
    }
    this.o.issuer.reissue([id], 'panel created');
    this.o.logger.info('panel created', { panelId: id, clientCertificate: clientCertificate !== null });
    return PanelRegistration.parse({
      panel,
      apiKey,
      endpoints: this.endpointsFor(id),
      caCertificate: this.o.certificates?.caCertificatePem ?? null,
      clientCertificate,
    });
  }

  /** A new client certificate for a registered panel; the CA revokes its previous one. */
  async issueClientCertificate(panelId: string, csr: string): Promise<ClientCertificateIssue> {
    this.require(panelId);
    await this.checkCertificateRequest(csr);
    const clientCertificate = await this.o.certificates!.sign(panelId, csr);
    this.o.logger.info('panel client certificate issued', { panelId });
    return { panelId, clientCertificate, caCertificate: this.o.certificates!.caCertificatePem };
  }

  private async checkCertificateRequest(csr: string): Promise<void> {
    if (!this.o.certificates) {
      throw new ServiceError(
        'bad-request',
        'no-private-ca',
        'this backend has no private CA (start it with --tls-ca-dir) and cannot sign a client certificate',
      );
    }
    try {
      await this.o.certificates.checkRequest(csr);
    } catch (error) {
      throw new ServiceError('bad-request', 'invalid-certificate-request', `clientCertificateRequest: ${(error as Error).message}`);
    }
  }

  async rotateKey(panelId: string): Promise<ApiKeyRotation> {
    this.require(panelId);
    const apiKey = generatePanelKey();
    const keyHash = hashSecret(apiKey);
    // Broker first: if it refuses, the old key keeps working everywhere.
    try {
      await this.o.gateway().registerPanelCredentials(panelId, apiKey);
    } catch (error) {
      throw new ServiceError(
        'unavailable',
        'mqtt-unavailable',
        `the key of panel "${panelId}" was not changed: the MQTT broker did not take it (${(error as Error).message})`,
      );
    }
    this.o.panels.setKeyHash(panelId, keyHash);
    this.o.keys.set(panelId, keyHash);
    this.o.logger.info('panel key rotated', { panelId });
    return { panelId, apiKey };
  }

  list(): PanelSummary[] {
    this.o.reports.flush();
    const statuses = this.o.status.list();
    return this.o.panels.list().map(({ panel }) => this.summary(panel, statuses.get(panel.id) ?? null));
  }

  get(panelId: string): PanelSummary {
    return this.summary(this.require(panelId));
  }

  update(panelId: string, body: PanelUpdateBody): PanelSummary {
    const current = this.require(panelId);
    this.checkReferences(body);
    const next = Panel.parse({ ...current, ...body });
    this.o.store.transaction(() => {
      this.o.panels.update(next);
      // Hysteresis memory belongs to one sensor's history; a new sensor starts afresh.
      if (next.sensorSourceId !== current.sensorSourceId) this.o.documents.deleteLevelState(panelId);
    });
    this.o.issuer.reissue([panelId], 'panel updated');
    return this.summary(next);
  }

  async delete(panelId: string): Promise<void> {
    this.require(panelId);
    this.o.reports.flush();
    this.o.panels.delete(panelId);
    this.o.keys.remove(panelId);
    this.o.issuer.forget(panelId);
    this.o.onDeleted(panelId);
    this.o.httpPolls.forget(panelId);
    const gateway = this.o.gateway();
    const [credentials, display] = await Promise.allSettled([gateway.removePanelCredentials(panelId), gateway.clearDisplay(panelId)]);
    // The panel is gone from the backend either way; a broker that missed it is cleaned up
    // by the account reconciliation at the next start.
    if (credentials.status === 'rejected')
      this.o.logger.error('mqtt: could not remove the credentials of a deleted panel', { panelId, error: String(credentials.reason) });
    if (display.status === 'rejected')
      this.o.logger.warn('mqtt: could not clear the retained document of a deleted panel', { panelId, error: String(display.reason) });
    this.o.logger.info('panel deleted', { panelId });
  }

  /** What each panel last said about its firmware and OTA progress (for the release feed). */
  updateReports(): { panelId: string; firmwareVersion: string | null; update: unknown }[] {
    this.o.reports.flush();
    return this.o.status.listUpdateReports();
  }
}
