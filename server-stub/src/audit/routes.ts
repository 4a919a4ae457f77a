import { accountEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, ok, type BoundRoute } from '../http/route.js';
import type { AuditLog } from './log.js';

export function auditRoutes(log: AuditLog): BoundRoute[] {
  return [bindRoute(endpoints.listAudit, ({ query }) => ok(log.list(query)))];
}
