import { DEFAULT_ALERT_THRESHOLDS, type AlertThresholds, type PanelSummary } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import type { LiveEventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import { AlertEvaluator } from './evaluator.js';
import { alertRoutes } from './routes.js';
import { AlertService } from './service.js';
import { AlertStore } from './store.js';
import { fetchWebhookClient, WebhookSender, type WebhookSenderOptions } from './webhook.js';

export { AlertEvaluator, type AlertChange } from './evaluator.js';
export { FleetWatch } from './fleet-watch.js';
export { AlertService } from './service.js';
export { AlertStore, type StoredAlertSettings } from './store.js';
export { fetchWebhookClient, WebhookSender, type WebhookHttpClient } from './webhook.js';

/** `createBackend`'s `alerts`: the defaults until an admin saves settings, and the tuning. */
export interface AlertOptions {
  thresholds?: Partial<AlertThresholds>;
  webhookUrl?: string | null;
  webhookSecret?: string | null;
  /** Between evaluations (default 5 s). */
  evaluationIntervalMs?: number;
  /** Between full reads of every panel's summary (default 60 s; see FleetWatch). */
  fleetRefreshMs?: number;
  /** The webhook's HTTP client, retries, delays, queue cap (see WebhookSender). */
  webhook?: Partial<Omit<WebhookSenderOptions, 'target' | 'logger' | 'now'>>;
}

/**
 * Alerts end to end: settings and history in SQLite, the evaluator, the webhook sender, and
 * each raise and clear published as a live event and POSTed to the webhook.
 */
export function createAlerting(o: AlertOptions & { store: Store; clock: Clock; logger: Logger; bus: LiveEventBus }) {
  const { clock, logger } = o;
  const store = new AlertStore(o.store);
  const service = new AlertService({
    store,
    clock,
    logger,
    defaults: {
      thresholds: { ...DEFAULT_ALERT_THRESHOLDS, ...o.thresholds },
      webhook: { url: o.webhookUrl ?? null, secret: o.webhookSecret ?? null },
    },
  });
  const webhook = new WebhookSender({
    http: fetchWebhookClient,
    ...o.webhook,
    target: () => service.stored().webhook,
    logger,
    now: () => clock.now(),
  });
  const evaluator = new AlertEvaluator({
    clock,
    store,
    logger,
    thresholds: () => service.stored().thresholds,
    onChange: ({ event, alert, panel }) => {
      o.bus.publish({ type: event === 'alert.raised' ? 'alert-raised' : 'alert-cleared', alert });
      webhook.send({
        event,
        alert,
        panelName: panel?.name ?? null,
        sentAt: new Date(clock.now()).toISOString(),
      });
    },
  });
  return {
    service,
    evaluator,
    webhook,
    evaluationIntervalMs: o.evaluationIntervalMs ?? 5_000,
    fleetRefreshMs: o.fleetRefreshMs ?? 60_000,
    routes: alertRoutes(service),
    evaluate(panels: readonly PanelSummary[]): void {
      evaluator.evaluate(panels);
    },
    close: () => webhook.close(),
  };
}

export type Alerting = ReturnType<typeof createAlerting>;
