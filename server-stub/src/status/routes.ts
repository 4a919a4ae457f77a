import { panelEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, ok, type BoundRoute } from '../http/route.js';
import type { PanelReportQueue } from './report-queue.js';
import type { PanelTransitionStore } from './transitions.js';

/**
 * `GET /api/v1/panels/{panelId}/transitions?limit=&before=`: the panel's state transitions and
 * connection changes, newest first (the reports still queued are written first).
 */
export function transitionRoutes(o: {
  transitions: PanelTransitionStore;
  reports: PanelReportQueue;
  requirePanel(panelId: string): unknown;
}): BoundRoute[] {
  return [
    bindRoute(endpoints.listPanelTransitions, ({ params, query }) => {
      o.requirePanel(params.panelId);
      o.reports.flush();
      return ok(o.transitions.list(params.panelId, query.limit, query.before));
    }),
  ];
}
