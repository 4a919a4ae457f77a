import { z } from 'zod';
import { AlertList, AlertSettings, AlertSettingsBody } from '../product/alerts.js';
import { apiPath, endpoint, errors, named } from './endpoint.js';

export const AlertListQuery = z.object({
  /** How many cleared alerts to list, newest first (the active ones are always all listed). */
  recent: z.coerce.number().int().min(0).max(500).default(50),
});

const alertSettings = named('AlertSettings', AlertSettings);

export const alertEndpoints = {
  listAlerts: endpoint({
    method: 'GET',
    path: apiPath('/alerts'),
    operationId: 'listAlerts',
    tag: 'alerts',
    auth: 'viewer',
    summary: 'Active alerts and the most recently cleared ones, newest first',
    query: AlertListQuery,
    responses: { 200: { description: 'Alerts', schema: named('AlertList', AlertList) }, ...errors(400, 401, 403) },
  }),
  getAlertSettings: endpoint({
    method: 'GET',
    path: apiPath('/alert-settings'),
    operationId: 'getAlertSettings',
    tag: 'alerts',
    auth: 'viewer',
    summary: 'How long each condition must last before it raises an alert, and the webhook (its secret is never shown)',
    responses: { 200: { description: 'The settings', schema: alertSettings }, ...errors(401, 403) },
  }),
  replaceAlertSettings: endpoint({
    method: 'PUT',
    path: apiPath('/alert-settings'),
    operationId: 'replaceAlertSettings',
    tag: 'alerts',
    auth: 'admin',
    summary: 'Change the thresholds and the webhook (secret: a string sets it, null removes it, absent keeps it)',
    description: 'New thresholds apply at the next evaluation, to conditions already running too.',
    body: named('AlertSettingsBody', AlertSettingsBody),
    responses: { 200: { description: 'The settings now', schema: alertSettings }, ...errors(400, 401, 403) },
  }),
};
