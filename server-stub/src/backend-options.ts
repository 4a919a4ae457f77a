import type { FastifyInstance } from 'fastify';
import type { AveragingRule } from '@airpanel/contract';
import type { AccountPolicy, AccountService } from './accounts/index.js';
import type { AlertOptions, Alerting } from './alerts/index.js';
import type { AuditLog } from './audit/log.js';
import type { Principal } from './auth.js';
import type { Clock } from './clock.js';
import type { CommandService } from './commands/service.js';
import type { ContentSetService } from './content-sets/content-sets.js';
import type { Store } from './db/store.js';
import type { DocumentIssuer } from './documents/issuer.js';
import type { LiveEventOptions, LiveEvents } from './events/index.js';
import type { LevelSchemeService } from './level-schemes/level-schemes.js';
import type { Logger } from './logger.js';
import type { BackendMetrics } from './metrics.js';
import type { GatewayBackend, MqttGateway } from './mqtt/gateway.js';
import type { PanelReadingsService } from './panel-readings/service.js';
import type { PanelService } from './panels/service.js';
import type { ReadingService } from './readings/service.js';
import type { ScreenshotService } from './screenshots/service.js';
import type { ProviderRegistry } from './sensors/providers.js';
import type { RefreshLoop } from './sensors/refresh-loop.js';
import type { SensorSourceService } from './sensors/sources.js';
import type { PanelMessageRecorder } from './status/panel-message-sink.js';
import type { BackendTls, TlsOptions } from './tls/backend-tls.js';

/** What `createBackend` is given and what it gives back (backend.ts builds it). */

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
