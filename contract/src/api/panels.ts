import { z } from 'zod';
import { ApiKeyRotation } from '../product/backend-api.js';
import { PanelCreateBody, PanelSummary, PanelUpdateBody } from '../product/panel.js';
import { PANEL_TRANSITIONS_KEPT, PanelTransition } from '../product/panel-transitions.js';
import { ClientCertificateBody, ClientCertificateIssue, PanelRegistration } from '../product/provisioning.js';
import { apiPath, endpoint, errors, named, ownPanelOr } from './endpoint.js';
import { PanelParams } from './params.js';

const panelSummary = named('PanelSummary', PanelSummary);

export const PanelTransitionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(PANEL_TRANSITIONS_KEPT).default(100),
  /** Only transitions older than this one (its id): the next page of a newest-first listing. */
  before: z.coerce.number().int().min(1).optional(),
});

export const panelEndpoints = {
  createPanel: endpoint({
    method: 'POST',
    path: apiPath('/panels'),
    operationId: 'createPanel',
    tag: 'panels',
    auth: 'operator',
    summary: 'Register a panel',
    description:
      'Returns the panel, its API key (shown only this once; stored hashed) and the endpoints it must use. Unset references take the defaults.',
    body: named('PanelCreateBody', PanelCreateBody),
    responses: { 201: { description: 'Registered', schema: named('PanelRegistration', PanelRegistration) }, ...errors(400, 401, 403, 409) },
  }),
  listPanels: endpoint({
    method: 'GET',
    path: apiPath('/panels'),
    operationId: 'listPanels',
    tag: 'panels',
    auth: 'viewer',
    summary: 'The fleet: every panel with what the backend last heard from it',
    responses: { 200: { description: 'Panels', schema: named('PanelSummaryList', z.array(PanelSummary)) }, ...errors(401, 403) },
  }),
  getPanel: endpoint({
    method: 'GET',
    path: apiPath('/panels/{panelId}'),
    operationId: 'getPanel',
    tag: 'panels',
    auth: ownPanelOr('viewer'),
    summary: 'One panel with its status',
    params: PanelParams,
    responses: { 200: { description: 'The panel', schema: panelSummary }, ...errors(400, 401, 403, 404) },
  }),
  updatePanel: endpoint({
    method: 'PATCH',
    path: apiPath('/panels/{panelId}'),
    operationId: 'updatePanel',
    tag: 'panels',
    auth: 'operator',
    summary: 'Change a panel (name, location, sensor source, content set, level scheme)',
    description: 'Assignments take effect at once: the panel gets a new display document.',
    params: PanelParams,
    body: named('PanelUpdateBody', PanelUpdateBody),
    responses: { 200: { description: 'The updated panel', schema: panelSummary }, ...errors(400, 401, 403, 404) },
  }),
  deletePanel: endpoint({
    method: 'DELETE',
    path: apiPath('/panels/{panelId}'),
    operationId: 'deletePanel',
    tag: 'panels',
    auth: 'operator',
    summary: 'Remove a panel (its key stops working, its retained document is cleared)',
    params: PanelParams,
    responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404) },
  }),
  rotatePanelKey: endpoint({
    method: 'POST',
    path: apiPath('/panels/{panelId}/api-key'),
    operationId: 'rotatePanelKey',
    tag: 'panels',
    auth: 'operator',
    summary: 'Issue a new API key for a panel; the old one stops working',
    params: PanelParams,
    responses: {
      200: { description: 'The new key, shown only this once', schema: named('ApiKeyRotation', ApiKeyRotation) },
      ...errors(400, 401, 403, 404),
    },
  }),
  issuePanelCertificate: endpoint({
    method: 'POST',
    path: apiPath('/panels/{panelId}/client-certificate'),
    operationId: 'issuePanelCertificate',
    tag: 'panels',
    auth: 'operator',
    summary: 'Sign a new client certificate (mTLS) for a panel; its previous one is revoked',
    description: 'Needs a backend with a private CA (--tls-ca-dir). The subject is the panel id whatever the request asks.',
    params: PanelParams,
    body: named('ClientCertificateBody', ClientCertificateBody),
    responses: {
      200: { description: 'The certificate and the CA to trust', schema: named('ClientCertificateIssue', ClientCertificateIssue) },
      ...errors(400, 401, 403, 404),
    },
  }),
  listPanelTransitions: endpoint({
    method: 'GET',
    path: apiPath('/panels/{panelId}/transitions'),
    operationId: 'listPanelTransitions',
    tag: 'panels',
    auth: 'viewer',
    summary: "The panel's state transitions and connection changes, newest first",
    description: `The backend keeps the newest ${PANEL_TRANSITIONS_KEPT} per panel. \`before\` (an id) pages to older ones.`,
    params: PanelParams,
    query: PanelTransitionsQuery,
    responses: {
      200: { description: 'Transitions, newest first', schema: named('PanelTransitionList', z.array(PanelTransition)) },
      ...errors(400, 401, 403, 404),
    },
  }),
};
