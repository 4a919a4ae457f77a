import { expect, it } from 'vitest';
import { panelDisplayUrl, panelScreenshotUrl } from './backend-api.js';

it('builds route URLs from a versioned API root or a bare server root', () => {
  expect(panelDisplayUrl('http://h:1/api/v1', 'panel-001')).toBe('http://h:1/api/v1/panels/panel-001/display');
  expect(panelDisplayUrl('http://h:1/api/v1/', 'panel-001')).toBe('http://h:1/api/v1/panels/panel-001/display');
  expect(panelDisplayUrl('http://h:1', 'panel-001')).toBe('http://h:1/api/v1/panels/panel-001/display');
  expect(panelScreenshotUrl('https://h/base/', 'panel-001')).toBe('https://h/base/api/v1/panels/panel-001/screenshot');
});
