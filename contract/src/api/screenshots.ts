import { apiPath, endpoint, errors, ownPanelOr } from './endpoint.js';
import { PanelParams } from './params.js';

/** A full-HD panel screenshot as PNG is 0.1 to 3 MB; more is not a screenshot. */
export const SCREENSHOT_MAX_BYTES = 8 * 1024 * 1024;

export const screenshotEndpoints = {
  uploadScreenshot: endpoint({
    method: 'PUT',
    path: apiPath('/panels/{panelId}/screenshot'),
    operationId: 'uploadScreenshot',
    tag: 'commands',
    auth: ownPanelOr('admin'),
    summary: "A panel's answer to the screenshot command: what its screen shows (replaces the previous one)",
    params: PanelParams,
    binaryBody: { mediaType: 'image/png', maxBytes: SCREENSHOT_MAX_BYTES, description: 'The PNG image' },
    responses: { 204: { description: 'Stored' }, ...errors(400, 401, 403, 404, 413) },
  }),
  getScreenshot: endpoint({
    method: 'GET',
    path: apiPath('/panels/{panelId}/screenshot'),
    operationId: 'getScreenshot',
    tag: 'commands',
    auth: 'viewer',
    summary: 'The latest screenshot a panel sent (Last-Modified: when it arrived)',
    params: PanelParams,
    responses: { 200: { description: 'The PNG image', mediaType: 'image/png' }, ...errors(400, 401, 403, 404) },
  }),
};
