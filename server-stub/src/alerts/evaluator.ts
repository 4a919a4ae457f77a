import type { Alert, AlertKind, AlertThresholds, PanelSummary } from '@airpanel/contract';
import { ALERT_KINDS } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { AlertStore } from './store.js';

export interface AlertChange {
  event: 'alert.raised' | 'alert.cleared';
  alert: Alert;
  /** The panel as the evaluation saw it; null when it was deleted. */
  panel: PanelSummary | null;
}

export interface AlertEvaluatorOptions {
  clock: Clock;
  store: AlertStore;
  logger: Logger;
  thresholds(): AlertThresholds;
  /** Told of every raise and clear, after it is stored. */
  onChange(change: AlertChange): void;
}

/** Whether a condition holds for a panel now, and in words what was seen. */
interface Observation {
  holds: boolean;
  detail: string;
  /** When the condition began if the panel's record says (offline: when it was last seen). */
  beganAtMs?: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * What each kind of alert watches. The conditions read from the panel's reports (stale,
 * maintenance, lagging) count only while the panel is online: an offline panel's last report
 * says nothing about now, and its offline alert covers it. A panel never seen at all (registered,
 * not yet installed) is not called offline.
 */
function observe(kind: AlertKind, panel: PanelSummary): Observation {
  switch (kind) {
    case 'offline': {
      if (panel.online || panel.lastSeenAt === null) return { holds: false, detail: panel.online ? 'online' : 'never seen' };
      return { holds: true, detail: `offline; last seen ${panel.lastSeenAt}`, beganAtMs: Date.parse(panel.lastSeenAt) };
    }
    case 'stale':
    case 'maintenance':
      return { holds: panel.online && panel.state === kind, detail: `state ${panel.state ?? 'not reported'}` };
    case 'lagging':
      return {
        holds: panel.online && panel.lagging,
        detail: `displays revision ${panel.displayedRevision ?? '?'} of ${panel.currentRevision ?? '?'}`,
      };
  }
}

/**
 * Raises an alert when a condition has held on a panel for its kind's threshold and clears it
 * when the condition ends, on the injected clock: `evaluate(panels)` is called periodically with
 * the whole fleet. When a condition began is known only from the time it was first seen here,
 * except offline (when the panel was last seen), and never earlier than this evaluator started:
 * the backend cannot know what happened while it was down. Active alerts survive a restart.
 */
export class AlertEvaluator {
  private readonly startedAtMs: number;
  /** `panelId kind` → when the condition began; present while it holds. */
  private readonly since = new Map<string, number>();
  /** `panelId kind` → the active alert. */
  private readonly active = new Map<string, Alert>();

  constructor(private readonly o: AlertEvaluatorOptions) {
    this.startedAtMs = o.clock.now();
    for (const alert of o.store.active()) {
      const key = `${alert.panelId} ${alert.kind}`;
      this.active.set(key, alert);
      this.since.set(key, Date.parse(alert.since));
    }
  }

  activeCount(): number {
    return this.active.size;
  }

  evaluate(panels: readonly PanelSummary[]): void {
    const now = this.o.clock.now();
    const thresholds = this.o.thresholds();
    const present = new Set<string>();
    for (const panel of panels) {
      for (const kind of ALERT_KINDS) {
        const key = `${panel.id} ${kind}`;
        present.add(key);
        const seen = observe(kind, panel);
        if (!seen.holds) {
          this.since.delete(key);
          const alert = this.active.get(key);
          if (alert) this.clear(key, alert, now, `ended: ${seen.detail}`, panel);
          continue;
        }
        let since = this.since.get(key);
        if (since === undefined) {
          since = Math.max(this.startedAtMs, Math.min(seen.beganAtMs ?? now, now));
          this.since.set(key, since);
        }
        if (this.active.has(key) || now - since < thresholds[kind] * 1000) continue;
        try {
          const alert = this.o.store.raise(panel.id, kind, iso(since), iso(now), seen.detail.slice(0, 500));
          this.active.set(key, alert);
          this.o.logger.warn('alert raised', { alertId: alert.id, panelId: panel.id, kind, detail: alert.detail });
          this.o.onChange({ event: 'alert.raised', alert, panel });
        } catch (error) {
          this.o.logger.error('raising an alert failed', { panelId: panel.id, kind, error: (error as Error).message });
        }
      }
    }
    for (const [key, alert] of this.active) {
      if (!present.has(key)) this.clear(key, alert, now, 'the panel was deleted', null);
    }
    for (const key of this.since.keys()) if (!present.has(key)) this.since.delete(key);
  }

  private clear(key: string, alert: Alert, now: number, detail: string, panel: PanelSummary | null): void {
    try {
      const cleared = this.o.store.clear(alert.id, iso(now), `${alert.detail}; ${detail}`.slice(0, 500));
      this.active.delete(key);
      if (!cleared) return;
      this.o.logger.info('alert cleared', { alertId: alert.id, panelId: alert.panelId, kind: alert.kind });
      this.o.onChange({ event: 'alert.cleared', alert: cleared, panel });
    } catch (error) {
      this.o.logger.error('clearing an alert failed', { alertId: alert.id, error: (error as Error).message });
    }
  }
}
