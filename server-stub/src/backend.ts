import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { API_PREFIX } from '@airpanel/contract/api';
import { DEFAULT_BACKOFFICE_DIR, serveBackoffice } from './backoffice/static.js';
import type { Backend, BackendOptions, MqttOptions } from './backend-options.js';
import { bearerToken, loadAdminToken } from './auth.js';
import { systemClock } from './clock.js';
import { openDatabase } from './db/database.js';
import { createDomain } from './domain.js';
import { buildOpenApiDocument, type ModuleRoute } from './http/openapi.js';
import { fastifyUrl } from './http/router.js';
import { buildHttpServer } from './http/server.js';
import { createJsonLogger } from './logger.js';
import { BackendMetrics } from './metrics.js';
import { gatewayFromOptions } from './mqtt/gateway-from-options.js';
import { createOperatorServices } from './operator-services.js';
import { operationsRoutes } from './operations/routes.js';
import { ReleaseFeedStore, releaseRoutes } from './releases/index.js';
import { defaultProviders } from './sensors/providers.js';
import { RefreshLoop } from './sensors/refresh-loop.js';
import { setUpBackendTls } from './tls/backend-tls.js';
import {
  httpsServerOptions,
  logTransportAtStart,
  panelCertificateIssuer,
  revokingCertificates,
  secureHttpApp,
  serverNamesOf,
  startCertificateRenewal,
} from './tls/backend-wiring.js';

export type { Backend, BackendOptions, HttpExtensionDeps, MqttOptions } from './backend-options.js';

export const BACKEND_VERSION = '0.1.0';
export const DEFAULT_REFRESH_INTERVAL_SECONDS = 300;
export const MIN_REFRESH_INTERVAL_SECONDS = 1;

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
      : gatewayFromOptions(mqtt, host, domain.gatewayBackend, logger, tls);
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

    const { liveEvents, alerting, fleetWatch, access } = createOperatorServices({
      domain,
      clock,
      logger,
      tls: tls !== null,
      options,
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
