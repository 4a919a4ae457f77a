import {
  DEFAULT_CONTENT_SET,
  DEFAULT_LEVEL_SCHEME,
  type AveragingRule,
  type ContentSet,
  type LevelScheme,
  type SensorSource,
} from '@airpanel/contract';
import type { Clock } from './clock.js';
import { CommandService } from './commands/service.js';
import { CommandStore } from './commands/store.js';
import { commandRoutes } from './commands/routes.js';
import { CONTENT_SETS, contentSetRoutes, type ContentSetService } from './content-sets/content-sets.js';
import type { Db } from './db/database.js';
import { Store } from './db/store.js';
import { DefinitionService } from './definitions/service.js';
import { DefinitionStore } from './definitions/store.js';
import { DocumentIssuer } from './documents/issuer.js';
import { displayRoutes } from './documents/routes.js';
import { DocumentStore } from './documents/store.js';
import type { BoundRoute } from './http/route.js';
import { LEVEL_SCHEMES, levelSchemeRoutes, type LevelSchemeService } from './level-schemes/level-schemes.js';
import type { Logger } from './logger.js';
import type { BackendMetrics } from './metrics.js';
import type { GatewayBackend, MqttGateway } from './mqtt/gateway.js';
import { NoMqttGateway } from './no-mqtt-gateway.js';
import { panelReadingRoutes } from './panel-readings/routes.js';
import { PanelReadingsService } from './panel-readings/service.js';
import { PanelReadingStore } from './panel-readings/store.js';
import { PanelKeyIndex } from './panels/key-index.js';
import { panelRoutes } from './panels/routes.js';
import { PanelService } from './panels/service.js';
import type { PanelCertificateIssuer } from './tls/panel-certificates.js';
import { PanelStore } from './panels/store.js';
import { readingRoutes } from './readings/routes.js';
import { ReadingService } from './readings/service.js';
import { ReadingStore } from './readings/store.js';
import { screenshotRoutes } from './screenshots/routes.js';
import { ScreenshotService } from './screenshots/service.js';
import { SENSOR_SOURCES, sensorSourceRoutes, type SensorSourceService } from './sensors/sources.js';
import { HttpPollTracker } from './status/http-polls.js';
import { PanelMessageRecorder } from './status/panel-message-sink.js';
import { PanelReportQueue } from './status/report-queue.js';
import { StatusStore } from './status/store.js';
import { transitionRoutes } from './status/routes.js';
import { PanelTransitionStore } from './status/transitions.js';

/** A panel that polled over HTTP within this long counts as online, by default. */
export const DEFAULT_HTTP_ONLINE_WINDOW_SECONDS = 900;

export interface DomainOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: BackendMetrics;
  adminToken: string;
  refreshIntervalSeconds: number;
  /** Base URL of the REST API that panels are given (known once listening). */
  apiBaseUrl(): string;
  /** Where the latest screenshot of each panel is kept (one PNG per panel). */
  screenshotsDir: string;
  /** How panel readings are averaged before they decide a level (EAQI by default). */
  panelReadingAveraging?: AveragingRule | undefined;
  /** A command not delivered within this long is void (the panel ignores it). */
  commandTtlSeconds?: number;
  /** A panel that polled over HTTP within this long counts as online. */
  httpOnlineWindowSeconds?: number;
  /** The private CA's part in registration (tls/backend-wiring.ts panelCertificateIssuer). */
  panelCertificates?: PanelCertificateIssuer | null;
}

/**
 * Every resource's store and service over one database, wired to each other, and the routes
 * bound to them: what `createBackend` serves. Nothing here listens or starts a timer.
 */
export function createDomain(o: DomainOptions) {
  const { clock, logger, metrics } = o;
  let gateway: MqttGateway = new NoMqttGateway();
  const currentGateway = () => gateway;

  const store = new Store(o.db);
  const panelStore = new PanelStore(store);
  const keys = new PanelKeyIndex(o.adminToken);
  const documentStore = new DocumentStore(store);
  const transitionStore = new PanelTransitionStore(store);
  const statusStore = new StatusStore(store, transitionStore);
  const commandStore = new CommandStore(store);
  const readingStore = new ReadingStore(store);
  const schemeStore = new DefinitionStore<LevelScheme>(store, LEVEL_SCHEMES.table, LEVEL_SCHEMES.parse);
  const contentSetStore = new DefinitionStore<ContentSet>(store, CONTENT_SETS.table, CONTENT_SETS.parse);
  const sourceStore = new DefinitionStore<SensorSource>(store, SENSOR_SOURCES.table, SENSOR_SOURCES.parse);

  const issuer = new DocumentIssuer({
    store,
    documents: documentStore,
    panels: panelStore,
    levelSchemes: schemeStore,
    contentSets: contentSetStore,
    latestReading: (sourceId) => readingStore.latest(sourceId),
    gateway: currentGateway,
    clock,
    logger,
    metrics,
    refreshIntervalSeconds: o.refreshIntervalSeconds,
  });
  const reports = new PanelReportQueue({ store, logger, isKnownPanel: (panelId) => keys.has(panelId) });
  const httpPolls = new HttpPollTracker({ store, status: statusStore, clock, panelExists: (panelId) => panelStore.exists(panelId) });

  /** Called when a source's definition changes (the refresh loop re-fetches it at once). */
  let onSourceChanged: (sourceId: string) => void = () => undefined;
  const definitionDeps = { store, panels: panelStore, clock };
  const levelSchemes: LevelSchemeService = new DefinitionService(
    LEVEL_SCHEMES,
    { ...definitionDeps, definitions: schemeStore },
    {
      afterReplace: async (id) =>
        void (await issuer.reissueYielding(panelStore.idsUsing('level_scheme_id', id), `level scheme ${id} changed`)),
    },
  );
  const contentSets: ContentSetService = new DefinitionService(
    CONTENT_SETS,
    { ...definitionDeps, definitions: contentSetStore },
    {
      afterReplace: async (id) =>
        void (await issuer.reissueYielding(panelStore.idsUsing('content_set_id', id), `content set ${id} changed`)),
    },
  );
  const sensorSources: SensorSourceService = new DefinitionService(
    SENSOR_SOURCES,
    { ...definitionDeps, definitions: sourceStore },
    {
      afterCreate: (id) => onSourceChanged(id),
      afterReplace: (id) => {
        issuer.noteSourceHealth(id, false);
        onSourceChanged(id);
      },
      afterDelete: (id) => {
        issuer.noteSourceHealth(id, false);
        onSourceChanged(id);
      },
    },
  );

  const screenshots = new ScreenshotService({ dir: o.screenshotsDir, panels: { require: (id) => panels.require(id) }, logger });
  const panels: PanelService = new PanelService({
    store,
    panels: panelStore,
    keys,
    issuer,
    documents: documentStore,
    status: statusStore,
    reports,
    httpPolls,
    references: {
      sensorSourceExists: (id) => sourceStore.exists(id),
      contentSetExists: (id) => contentSetStore.exists(id),
      levelSchemeExists: (id) => schemeStore.exists(id),
    },
    onDeleted: (panelId) => screenshots.remove(panelId),
    gateway: currentGateway,
    apiBaseUrl: o.apiBaseUrl,
    clock,
    logger,
    httpOnlineWindowMs: (o.httpOnlineWindowSeconds ?? DEFAULT_HTTP_ONLINE_WINDOW_SECONDS) * 1000,
    certificates: o.panelCertificates ?? null,
  });
  const commands = new CommandService({
    commands: commandStore,
    panels,
    reports,
    gateway: currentGateway,
    clock,
    logger,
    metrics,
    commandTtlSeconds: o.commandTtlSeconds ?? 600,
  });
  const readings = new ReadingService({ readings: readingStore, sources: sensorSources, panels: panelStore, issuer, clock, metrics });
  const panelReadings = new PanelReadingsService({
    store: new PanelReadingStore(o.db),
    panels,
    sensorSources,
    readings,
    clock,
    logger,
    averaging: o.panelReadingAveraging,
  });
  const panelMessages = new PanelMessageRecorder({
    isKnownPanel: (panelId) => keys.has(panelId),
    queue: reports,
    status: statusStore,
    commands: commandStore,
    clock,
    logger,
  });
  panelMessages.onPanelReading = (panelId, reading) => panelReadings.record(panelId, reading);

  /** What an MQTT gateway talks to: the key check, the sink of panel messages, re-publishing. */
  const gatewayBackend: GatewayBackend = {
    verifyPanelKey: (panelId, apiKey) => keys.verifyPanelKey(panelId, apiKey),
    onStatus: (panelId, message) => panelMessages.onStatus(panelId, message),
    onEvent: (panelId, event) => panelMessages.onEvent(panelId, event),
    publishAll: () => issuer.publishAll(),
  };

  /** Every route but the operations ones, in the order the OpenAPI document lists them. */
  const routes: BoundRoute[] = [
    ...panelRoutes(panels),
    ...transitionRoutes({ transitions: transitionStore, reports, requirePanel: (panelId) => panels.require(panelId) }),
    ...displayRoutes(issuer, httpPolls),
    ...screenshotRoutes(screenshots),
    ...commandRoutes(commands),
    ...sensorSourceRoutes(sensorSources),
    ...readingRoutes(readings),
    ...contentSetRoutes(contentSets),
    ...levelSchemeRoutes(levelSchemes),
    ...panelReadingRoutes(panelReadings),
  ];

  return {
    store,
    keys,
    issuer,
    reports,
    httpPolls,
    panels,
    levelSchemes,
    contentSets,
    sensorSources,
    readings,
    commands,
    screenshots,
    panelReadings,
    panelMessages,
    gatewayBackend,
    routes,
    /** Seeds the default scheme and content set on first start, loads the key index and the documents. */
    init(): void {
      store.transaction(() => {
        levelSchemes.seed(DEFAULT_LEVEL_SCHEME);
        contentSets.seed(DEFAULT_CONTENT_SET);
        statusStore.markAllOffline();
      });
      for (const { panel, keyHash } of panelStore.list()) keys.set(panel.id, keyHash);
      issuer.init();
    },
    attachGateway(next: MqttGateway): void {
      gateway = next;
    },
    /** The refresh loop fetches a source again at once when its definition changes. */
    whenSourceChanges(listener: (sourceId: string) => void): void {
      onSourceChanged = listener;
    },
    /** Publishes and writes in flight, then what is kept in memory (graceful shutdown). */
    async drain(): Promise<void> {
      await panelReadings.drain();
      await issuer.drain();
      reports.flush();
      httpPolls.flush();
    },
  };
}

export type Domain = ReturnType<typeof createDomain>;
