import { Panel } from '@airpanel/contract';
import { createAccessControl } from './accounts/index.js';
import { createAlerting, FleetWatch } from './alerts/index.js';
import type { BackendOptions } from './backend-options.js';
import type { Clock } from './clock.js';
import { DEFAULT_HTTP_ONLINE_WINDOW_SECONDS, type Domain } from './domain.js';
import { createLiveEvents } from './events/index.js';
import type { Logger } from './logger.js';

/**
 * What the backoffice adds to the domain: the live event stream (panel summaries, command
 * acks, alerts, audit entries), alerts watched over the fleet, and access control (accounts,
 * sessions, roles) with its audit log, wired to each other here so that the composition root
 * only places them.
 */
export function createOperatorServices(o: { domain: Domain; clock: Clock; logger: Logger; tls: boolean; options: BackendOptions }) {
  const { domain } = o;
  const liveEvents = createLiveEvents({
    ...o.options.liveEvents,
    logger: o.logger,
    summaryOf: (panelId) => (domain.keys.has(panelId) ? domain.panels.get(panelId) : null),
  });
  domain.reports.afterFlush = (panelIds) => liveEvents.panelSummaries.check(panelIds);
  domain.panelMessages.onCommandAck = (ack) => liveEvents.bus.publish({ type: 'command-ack', ack });
  const alerting = createAlerting({ ...o.options.alerts, store: domain.store, clock: o.clock, logger: o.logger, bus: liveEvents.bus });
  const fleetWatch = new FleetWatch({
    clock: o.clock,
    feed: liveEvents.panelSummaries,
    listPanels: () => domain.panels.list(),
    evaluate: (fleet) => alerting.evaluate(fleet),
    fleetRefreshMs: alerting.fleetRefreshMs,
    onlineWindowMs: (o.options.httpOnlineWindowSeconds ?? DEFAULT_HTTP_ONLINE_WINDOW_SECONDS) * 1000,
  });

  const access = createAccessControl({
    store: domain.store,
    clock: o.clock,
    logger: o.logger,
    policy: o.options.accounts,
    secureCookies: o.tls,
    snapshots: {
      panel: (id) => Panel.parse(domain.panels.get(id)),
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
  return { liveEvents, alerting, fleetWatch, access };
}
