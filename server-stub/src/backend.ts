import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Panel, type AveragingRule } from '@airpanel/contract';
import { API_PREFIX } from '@airpanel/contract/api';
import { DEFAULT_BACKOFFICE_DIR, serveBackoffice } from './backoffice/static.js';
import { createAlerting, FleetWatch, type AlertOptions, type Alerting } from './alerts/index.js';
import { createAccessControl, type AccountPolicy, type AccountService } from './accounts/index.js';
import type { AuditLog } from './audit/log.js';
import { bearerToken, loadAdminToken, type Principal } from './auth.js';
import { systemClock, type Clock } from './clock.js';
import type { CommandService } from './commands/service.js';
import type { ContentSetService } from './content-sets/content-sets.js';
import { openDatabase } from './db/database.js';
import type { Store } from './db/store.js';
import type { DocumentIssuer } from './documents/issuer.js';
import { createDomain, DEFAULT_HTTP_ONLINE_WINDOW_SECONDS } from './domain.js';
import { createLiveEvents, type LiveEventOptions, type LiveEvents } from './events/index.js';
import { buildOpenApiDocument, type ModuleRoute } from './http/openapi.js';
import { fastifyUrl } from './http/router.js';
import { buildHttpServer } from './http/server.js';
import type { LevelSchemeService } from './level-schemes/level-schemes.js';
import { createJsonLogger, type Logger } from './logger.js';
import { BackendMetrics } from './metrics.js';
import { createEmbeddedGateway } from './mqtt/embedded-gateway.js';
import { createExternalGateway } from './mqtt/external-gateway.js';
import type { GatewayBackend, MqttGateway } from './mqtt/gateway.js';
import { NoMqttGateway } from './no-mqtt-gateway.js';
import { operationsRoutes } from './operations/routes.js';
import type { PanelReadingsService } from './panel-readings/service.js';
import type { PanelService } from './panels/service.js';
import type { ReadingService } from './readings/service.js';
import { ReleaseFeedStore, releaseRoutes } from './releases/index.js';
import type { ScreenshotService } from './screenshots/service.js';
import { defaultProviders, type ProviderRegistry } from './sensors/providers.js';
import { RefreshLoop } from './sensors/refresh-loop.js';
import type { SensorSourceService } from './sensors/sources.js';
import type { PanelMessageRecorder } from './status/panel-message-sink.js';
import { setUpBackendTls, type BackendTls, type TlsOptions } from './tls/backend-tls.js';
import {
  embeddedBrokerTls,
  httpsServerOptions,
  logTransportAtStart,
  panelCertificateIssuer,
  revokingCertificates,
  secureHttpApp,
  serverNamesOf,
  startCertificateRenewal,
} from './tls/backend-wiring.js';

export const BACKEND_VERSION = '0.1.0';
export const DEFAULT_REFRESH_INTERVAL_SECONDS = 300;
export const MIN_REFRESH_INTERVAL_SECONDS = 1;

export type MqttOptions =
  /** aedes inside the backend (the default). */
  | { mode: 'embedded'; port: number; host?: string; publicUrl?: string }
  /** An external broker (e.g. Mosquitto) the backend joins as a privileged client. */
  | {
      mode: 'external';
      url: string;
      username: string;
      password: string;
      publicUrl?: string;
      /** How panels get broker accounts: through Mosquitto's dynsec plugin (default) or by other means. */
      credentials?: 'dynsec' | 'managed-elsewhere';
    }
  /** HTTP only: panels poll, nothing is pushed. */
  | { mode: 'none' };

export interface BackendOptions {
  /** SQLite database, admin token file: everything that must survive a restart. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** URL panels use to reach the HTTP API when `host:port` is not it (proxy, NAT). */
  publicUrl?: string;
  mqtt?: MqttOptions;
  /** Sensor data older than this is fetched again; 1 to 86400 seconds. */
  refreshIntervalSeconds?: number;
  /** Fixed admin token; otherwise the one in the data dir, generated at first start. */
  adminToken?: string;
  logger?: Logger;
  clock?: Clock;
  /** Sensor fetches running at once. */
  fetchConcurrency?: number;
  /** Replaces the sensor providers (tests shorten retry delays). */
  providers?: ProviderRegistry;
  /** Expose process metrics (CPU, memory, event loop) on /metrics too. */
  processMetrics?: boolean;
  /** Set false to drive refresh and renewal by hand (tests). */
  startLoops?: boolean;
  /** Serve the release feed (OTA manifests and bundles, `src/releases/`) under /api/v1; default true. */
  releaseFeed?: boolean;
  /** How panel readings are averaged before they decide a level (EAQI by default; tests shorten it). */
  panelReadingAveraging?: AveragingRule;
  /**
   * Adds routes of another module to the HTTP server before it listens. `isAdmin` and
   * `isPanelOrAdmin` answer with the same credentials the backend's own routes accept.
   */
  extendHttp?: (app: FastifyInstance, deps: HttpExtensionDeps) => void | Promise<void>;
  /**
   * HTTPS for the API and MQTTS for the embedded broker, from the operator's certificate files
   * and/or a private CA directory (see server-stub/README.md, "TLS"). Absent: plain.
   */
  tls?: TlsOptions;
  /** A panel that polled over HTTP within this long counts as online (default 900 s; tests shorten it). */
  httpOnlineWindowSeconds?: number;
  /** The built web app served at `/` (default: backoffice/dist of the repository); null: none. */
  backofficeDir?: string | null;
  /** Alert defaults (thresholds, webhook) until an admin saves settings; evaluation and webhook tuning. */
  alerts?: AlertOptions;
  /** The event stream's heartbeat, per-client buffer cap, open streams at most. */
  liveEvents?: LiveEventOptions;
  /** Session lifetimes and the login lockout (server-stub/README.md, "Accounts"); defaults in accounts/service.ts. */
  accounts?: Partial<AccountPolicy>;
  /** Replaces the MQTT gateway built from `mqtt` (tests of the seam). */
  gatewayFactory?: (deps: { service: GatewayBackend; logger: Logger }) => MqttGateway;
}

export interface HttpExtensionDeps {
  logger: Logger;
  /** Who the Authorization header names: null for none or unknown credentials. */
  principalOf: (authorization: string | undefined) => Principal | null;
  /** True when the Authorization header carries the admin token. */
  isAdmin: (authorization: string | undefined) => boolean;
  /** True when the Authorization header carries this panel's API key (or the admin token). */
  isPanelOrAdmin: (panelId: string, authorization: string | undefined) => boolean;
}

export interface Backend {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:41234 or https://… (the API is under /api/v1). */
  url: string;
  /** The TLS set-up when `tls` was given: the private CA, the server certificate's names and expiry. */
  tls: BackendTls | null;
  /** What panels dial for MQTT; null in HTTP-only mode. */
  mqttUrl: string | null;
  adminToken: string;
  /** Where the generated admin token lives; null when it was configured. */
  adminTokenFile: string | null;
  panels: PanelService;
  /** Every panel's current display document: `display(panelId)`, `renewExpiring()`, `publishAll()`. */
  documents: DocumentIssuer;
  contentSets: ContentSetService;
  levelSchemes: LevelSchemeService;
  sensorSources: SensorSourceService;
  readings: ReadingService;
  commands: CommandService;
  screenshots: ScreenshotService;
  panelReadings: PanelReadingsService;
  /** Where the MQTT gateway hands what panels say (statuses, events). */
  panelMessages: PanelMessageRecorder;
  /** The SQLite connection's statements (read-only use outside the services: tools and tests). */
  store: Store;
  refreshLoop: RefreshLoop;
  metrics: BackendMetrics;
  /** The live event bus and its SSE streams. */
  liveEvents: LiveEvents;
  /** Alert settings and history, the evaluator (`evaluateAlerts()` runs it now), the webhook sender. */
  alerts: Alerting;
  /** Reads every panel's summary (publishing the changed ones) and evaluates alerts now. */
  evaluateAlerts(): void;
  /** Users, logins, sessions. */
  accounts: AccountService;
  /** Every change made through the API (`onAppend` to follow it). */
  audit: AuditLog;
  /** Stops accepting, finishes requests and publishes in flight, closes the broker and the DB. Safe to call twice. */
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Builds and starts the whole backend: the single entry point of the CLI and the tests. */
export async function createBackend(options: BackendOptions): Promise<Backend> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createJsonLogger();
  const host = options.host ?? '127.0.0.1';
  const refreshIntervalSeconds = options.refreshIntervalSeconds ?? DEFAULT_REFRESH_INTERVAL_SECONDS;
  if (
    !Number.isInteger(refreshIntervalSeconds) ||
    refreshIntervalSeconds < MIN_REFRESH_INTERVAL_SECONDS ||
    refreshIntervalSeconds > 86_400
  ) {
    throw new Error(
      `refreshIntervalSeconds must be a whole number from ${MIN_REFRESH_INTERVAL_SECONDS} to 86400, got ${refreshIntervalSeconds}`,
    );
  }
  const mqtt: MqttOptions = options.mqtt ?? { mode: 'embedded', port: 1883 };

  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const admin = loadAdminToken(options.dataDir, options.adminToken);
  const db = openDatabase(options.dataDir);
  const cleanups: (() => Promise<void> | void)[] = [() => void db.close()];
  // Every step runs even if an earlier one fails, so a broker that will not close cannot
  // keep the database open; the first failure is reported after all of them ran.
  const unwind = async () => {
    let firstError: unknown = null;
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.error('shutdown step failed', { error: (error as Error).message });
        firstError ??= error;
      }
    }
    if (firstError) throw firstError;
  };

  try {
    const metrics = new BackendMetrics({ defaultMetrics: options.processMetrics ?? false });
    const mqttPublicUrl = mqtt.mode === 'none' ? undefined : mqtt.publicUrl;
    const tls = options.tls
      ? await setUpBackendTls(options.tls, { clock, logger, serverNames: serverNamesOf(host, [options.publicUrl, mqttPublicUrl]) })
      : null;
    let apiBaseUrl = '';
    const domain = createDomain({
      db,
      clock,
      logger,
      metrics,
      adminToken: admin.token,
      refreshIntervalSeconds,
      apiBaseUrl: () => apiBaseUrl,
      screenshotsDir: path.join(options.dataDir, 'screenshots'),
      panelReadingAveraging: options.panelReadingAveraging,
      panelCertificates: tls ? panelCertificateIssuer(tls) : null,
      ...(options.httpOnlineWindowSeconds !== undefined ? { httpOnlineWindowSeconds: options.httpOnlineWindowSeconds } : {}),
    });
    domain.init();
    const { store, issuer, panels } = domain;

    const builtGateway = options.gatewayFactory
      ? options.gatewayFactory({ service: domain.gatewayBackend, logger })
      : buildGateway(mqtt, host, domain.gatewayBackend, logger, tls);
    // Deleting a panel or rotating its key also revokes its client certificate.
    const gateway = tls ? revokingCertificates(builtGateway, tls) : builtGateway;
    await gateway.start();
    cleanups.push(() => gateway.close());
    domain.attachGateway(gateway);
    if (gateway.reconcilePanelAccounts) {
      // A broker with its own accounts may have drifted (a panel deleted while it was down).
      const { removed, missing } = await gateway.reconcilePanelAccounts(panels.list().map((p) => p.id));
      if (removed.length > 0) logger.warn('mqtt: removed broker accounts of unknown panels', { panelIds: removed });
      if (missing.length > 0)
        logger.warn('mqtt: panels without a broker account; rotate their keys (POST /api/v1/panels/{id}/api-key)', { panelIds: missing });
    }
    metrics.connectedPanelCount = () => gateway.connectedPanelCount();
    // The broker may have lost its retained messages (aedes keeps them in memory).
    issuer.publishAll();
    // Cleanups unwind in reverse, so this runs after the HTTP server closed: no request
    // can race the final flush, and publishes finish before the broker goes.
    cleanups.push(() => domain.drain());

    const refreshLoop = new RefreshLoop({
      clock,
      logger,
      providers: options.providers ?? defaultProviders(),
      listSources: () => domain.sensorSources.list(),
      onReading: async (sourceId, reading) => {
        issuer.noteSourceHealth(sourceId, false);
        await domain.readings.record(sourceId, reading);
      },
      onFailure: (source) => {
        metrics.providerFailures.inc({ kind: source.spec.kind });
        issuer.noteSourceHealth(source.id, true);
      },
      onLag: (seconds) => metrics.refreshLag.set(seconds),
      refreshIntervalSeconds,
      concurrency: options.fetchConcurrency ?? 8,
    });
    domain.whenSourceChanges((sourceId) => refreshLoop.invalidate(sourceId));

    const liveEvents = createLiveEvents({
      ...options.liveEvents,
      logger,
      summaryOf: (panelId) => (domain.keys.has(panelId) ? panels.get(panelId) : null),
    });
    domain.reports.afterFlush = (panelIds) => liveEvents.panelSummaries.check(panelIds);
    domain.panelMessages.onCommandAck = (ack) => liveEvents.bus.publish({ type: 'command-ack', ack });
    const alerting = createAlerting({ ...options.alerts, store, clock, logger, bus: liveEvents.bus });
    const fleetWatch = new FleetWatch({
      clock,
      feed: liveEvents.panelSummaries,
      listPanels: () => panels.list(),
      evaluate: (fleet) => alerting.evaluate(fleet),
      fleetRefreshMs: alerting.fleetRefreshMs,
      onlineWindowMs: (options.httpOnlineWindowSeconds ?? DEFAULT_HTTP_ONLINE_WINDOW_SECONDS) * 1000,
    });

    const access = createAccessControl({
      store,
      clock,
      logger,
      policy: options.accounts,
      secureCookies: tls !== null,
      snapshots: {
        panel: (id) => Panel.parse(panels.get(id)),
        'content-set': (id) => domain.contentSets.get(id),
        'level-scheme': (id) => domain.levelSchemes.get(id),
        'sensor-source': (id) => domain.sensorSources.get(id),
      },
      singletons: { 'alert-settings': () => alerting.service.view() },
    });
    access.audit.onAppend((entry) => {
      liveEvents.bus.publish({ type: 'audit-appended', entry });
      if (entry.object.type === 'panel' && entry.object.id !== null) liveEvents.panelSummaries.check([entry.object.id]);
    });

    const startedAtMs = clock.now();
    let openApi: unknown = null;
    const routes = [
      ...operationsRoutes({
        metrics,
        clock,
        startedAtMs,
        panelCount: () => panels.count(),
        connectedPanelCount: () => gateway.connectedPanelCount(),
        openApiDocument: () => openApi,
      }),
      ...domain.routes,
      ...alerting.routes,
      ...liveEvents.routes,
      ...(options.releaseFeed !== false
        ? releaseRoutes({ store: new ReleaseFeedStore(options.dataDir), panelStatus: () => panels.updateReports(), now: () => clock.now() })
        : []),
      ...access.routes,
    ];
    const principalOf = (authorization: string | undefined) => domain.keys.authenticate(bearerToken(authorization));
    const app = buildHttpServer({
      metrics,
      logger,
      routes,
      authenticate: (token) => domain.keys.authenticate(token),
      access: access.router,
      ...(tls ? { https: httpsServerOptions(tls) } : {}),
    });
    if (options.backofficeDir !== null) serveBackoffice(app, { dir: options.backofficeDir ?? DEFAULT_BACKOFFICE_DIR });
    if (tls) {
      secureHttpApp(app, tls, (authorization) => {
        const principal = principalOf(authorization);
        return principal?.kind === 'panel' ? principal.panelId : null;
      });
    }
    // Routes added by extensions are listed in the OpenAPI document too.
    const ownRoutes = new Set(routes.map((r) => `${r.endpoint.method} ${fastifyUrl(r.endpoint.path)}`));
    const moduleRoutes: ModuleRoute[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (method === 'HEAD' || ownRoutes.has(`${method} ${route.url}`)) continue;
        const openapi = (route.config as { openapi?: Record<string, unknown> } | undefined)?.openapi;
        moduleRoutes.push({ method, path: route.url.replace(/:([A-Za-z]+)/g, '{$1}'), openapi });
      }
    });
    const isAdmin = (authorization: string | undefined) => principalOf(authorization)?.kind === 'admin';
    const isPanelOrAdmin = (panelId: string, authorization: string | undefined) => {
      const principal = principalOf(authorization);
      return principal?.kind === 'admin' || (principal?.kind === 'panel' && principal.panelId === panelId);
    };
    if (options.extendHttp) await options.extendHttp(app, { logger, principalOf, isAdmin, isPanelOrAdmin });
    await app.ready();
    openApi = buildOpenApiDocument(
      routes.map((r) => r.endpoint),
      { version: BACKEND_VERSION, moduleRoutes },
    );
    await app.listen({ host, port: options.port ?? 8080 });
    cleanups.push(() => app.close());
    // Runs before the server closes: it waits for open responses, and event streams never end by themselves.
    cleanups.push(async () => {
      liveEvents.streams.closeAll();
      await alerting.close();
    });
    const address = app.server.address() as AddressInfo;
    const url = `${tls ? 'https' : 'http'}://${hostForUrl(host)}:${address.port}`;
    apiBaseUrl = `${(options.publicUrl ?? url).replace(/\/+$/, '')}${API_PREFIX}`;

    const timers: NodeJS.Timeout[] = [];
    if (options.startLoops !== false) {
      refreshLoop.start();
      const maintenance = setInterval(
        () => {
          try {
            issuer.renewExpiring();
            domain.httpPolls.flush();
          } catch (error) {
            logger.error('maintenance failed', { error: (error as Error).message });
          }
        },
        Math.min(refreshIntervalSeconds, 10) * 1000,
      );
      maintenance.unref();
      timers.push(maintenance);
      const alertTimer = setInterval(() => {
        try {
          fleetWatch.tick();
        } catch (error) {
          logger.error('alert evaluation failed', { error: (error as Error).message });
        }
      }, alerting.evaluationIntervalMs);
      alertTimer.unref();
      timers.push(alertTimer);
    }
    const stopRenewal = tls && options.startLoops !== false ? startCertificateRenewal(tls, logger) : null;
    cleanups.push(async () => {
      for (const timer of timers) clearInterval(timer);
      stopRenewal?.();
      await refreshLoop.stop();
    });
    if (tls) logTransportAtStart(tls, logger);

    if ((host === '0.0.0.0' || host === '::') && !options.publicUrl) {
      logger.warn(
        'listening on every interface but no public URL is set: panels are told to use 127.0.0.1; set publicUrl (--public-url) and the MQTT public URL',
        { apiBaseUrl },
      );
    }
    logger.info('backend started', {
      url,
      apiBaseUrl,
      mqttUrl: gateway.panelUrl || null,
      dataDir: options.dataDir,
      refreshIntervalSeconds,
    });
    let closing: Promise<void> | null = null;
    return {
      url,
      tls,
      mqttUrl: gateway.panelUrl || null,
      adminToken: admin.token,
      adminTokenFile: admin.file,
      panels,
      documents: issuer,
      contentSets: domain.contentSets,
      levelSchemes: domain.levelSchemes,
      sensorSources: domain.sensorSources,
      readings: domain.readings,
      commands: domain.commands,
      screenshots: domain.screenshots,
      panelReadings: domain.panelReadings,
      panelMessages: domain.panelMessages,
      store,
      refreshLoop,
      metrics,
      accounts: access.accounts,
      audit: access.audit,
      liveEvents,
      alerts: alerting,
      evaluateAlerts: () => fleetWatch.now(),
      close: () => {
        closing ??= (async () => {
          logger.info('backend stopping');
          await unwind();
          logger.info('backend stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    await unwind().catch(() => undefined);
    throw error;
  }
}

function buildGateway(mqtt: MqttOptions, host: string, backend: GatewayBackend, logger: Logger, tls: BackendTls | null): MqttGateway {
  switch (mqtt.mode) {
    case 'none':
      return new NoMqttGateway();
    case 'embedded':
      return createEmbeddedGateway({
        host: mqtt.host ?? host,
        port: mqtt.port,
        publicUrl: mqtt.publicUrl,
        verifier: backend,
        sink: backend,
        logger,
        ...(tls ? { tls: embeddedBrokerTls(tls) } : {}),
      });
    case 'external':
      return createExternalGateway({
        url: mqtt.url,
        panelUrl: mqtt.publicUrl,
        username: mqtt.username,
        password: mqtt.password,
        credentials: mqtt.credentials ?? 'dynsec',
        sink: backend,
        logger,
      });
  }
}
