import { alertEndpoints } from '@airpanel/contract/api';
import { bindRoute, ok, type BoundRoute } from '../http/route.js';
import type { AlertService } from './service.js';

export function alertRoutes(alerts: AlertService): BoundRoute[] {
  return [
    bindRoute(alertEndpoints.listAlerts, ({ query }) => ok(alerts.list(query.recent))),
    bindRoute(alertEndpoints.getAlertSettings, () => ok(alerts.view())),
    bindRoute(alertEndpoints.replaceAlertSettings, ({ body }) => ok(alerts.replace(body))),
  ];
}
