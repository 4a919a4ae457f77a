import type { AlertList, AlertSettings, AlertSettingsBody } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { AlertStore, StoredAlertSettings } from './store.js';

/** The alerts as the API gives them, and their settings (stored ones, else the start-up defaults). */
export class AlertService {
  private current: StoredAlertSettings;

  constructor(private readonly o: { store: AlertStore; clock: Clock; logger: Logger; defaults: StoredAlertSettings }) {
    this.current = o.store.settings() ?? o.defaults;
  }

  list(recent: number): AlertList {
    return { active: this.o.store.active(), recent: this.o.store.recentlyCleared(recent) };
  }

  /** The settings with the secret (the evaluator and the webhook sender). */
  stored(): StoredAlertSettings {
    return this.current;
  }

  /** The settings as readers see them: whether a secret is set, not the secret. */
  view(): AlertSettings {
    const { thresholds, webhook } = this.current;
    return { thresholds: { ...thresholds }, webhook: { url: webhook.url, hasSecret: webhook.secret !== null } };
  }

  replace(body: AlertSettingsBody): AlertSettings {
    const secret = body.webhook.secret === undefined ? this.current.webhook.secret : body.webhook.secret;
    const next: StoredAlertSettings = { thresholds: body.thresholds, webhook: { url: body.webhook.url, secret } };
    this.o.store.saveSettings(next, new Date(this.o.clock.now()).toISOString());
    this.current = next;
    this.o.logger.info('alert settings changed', {
      thresholds: next.thresholds,
      webhookUrl: next.webhook.url,
      webhookSigned: secret !== null,
    });
    return this.view();
  }
}
