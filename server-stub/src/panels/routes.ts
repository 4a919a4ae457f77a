import { panelEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, noContent, ok, type BoundRoute } from '../http/route.js';
import type { PanelService } from './service.js';

export function panelRoutes(panels: PanelService): BoundRoute[] {
  return [
    bindRoute(endpoints.createPanel, async ({ body }) => ok(await panels.create(body), 201)),
    bindRoute(endpoints.listPanels, () => ok(panels.list())),
    bindRoute(endpoints.getPanel, ({ params }) => ok(panels.get(params.panelId))),
    bindRoute(endpoints.updatePanel, ({ params, body }) => ok(panels.update(params.panelId, body))),
    bindRoute(endpoints.deletePanel, async ({ params }) => {
      await panels.delete(params.panelId);
      return noContent();
    }),
    bindRoute(endpoints.rotatePanelKey, async ({ params }) => ok(await panels.rotateKey(params.panelId))),
    bindRoute(endpoints.issuePanelCertificate, async ({ params, body }) =>
      ok(await panels.issueClientCertificate(params.panelId, body.clientCertificateRequest)),
    ),
  ];
}
