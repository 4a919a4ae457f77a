import { DisplayDocument } from '../product/display.js';
import { apiPath, endpoint, errors, named, ownPanelOr } from './endpoint.js';
import { PanelParams } from './params.js';

export const displayEndpoints = {
  getDisplay: endpoint({
    method: 'GET',
    path: apiPath('/panels/{panelId}/display'),
    operationId: 'getDisplay',
    tag: 'display',
    auth: ownPanelOr('viewer'),
    summary: 'What the panel must show now',
    description: 'Answers with an ETag; send it back in If-None-Match to get 304 Not Modified while the revision is unchanged.',
    params: PanelParams,
    requestHeaders: [{ name: 'If-None-Match', required: false, description: 'ETag of the revision the caller has' }],
    responses: {
      200: {
        description: 'The current display document',
        schema: named('DisplayDocument', DisplayDocument),
        headers: { ETag: 'Entity tag of this revision' },
      },
      304: {
        description: 'Not modified: the If-None-Match tag is the current revision',
        headers: { ETag: 'Entity tag of the current revision' },
      },
      ...errors(400, 401, 403, 404),
    },
  }),
};
