import { screenshotEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, noContent, type BoundRoute } from '../http/route.js';
import type { ScreenshotService } from './service.js';

export function screenshotRoutes(screenshots: ScreenshotService): BoundRoute[] {
  return [
    bindRoute(endpoints.uploadScreenshot, ({ params, body }) => {
      screenshots.save(params.panelId, body);
      return noContent();
    }),
    bindRoute(endpoints.getScreenshot, ({ params }) => {
      const { png, takenAt } = screenshots.get(params.panelId);
      return {
        status: 200,
        raw: { contentType: 'image/png', payload: png },
        headers: { 'last-modified': new Date(takenAt).toUTCString(), 'cache-control': 'no-store' },
      };
    }),
  ];
}
