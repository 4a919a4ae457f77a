import { describe, expect, it } from 'vitest';
import { bridgeUrl } from './discover.js';

describe('bridgeUrl', () => {
  it('is /bridge on the host that served the page', () => {
    expect(bridgeUrl({ protocol: 'http:', host: '127.0.0.1:8123' })).toBe('ws://127.0.0.1:8123/bridge');
    expect(bridgeUrl({ protocol: 'https:', host: 'panel.example' })).toBe('wss://panel.example/bridge');
  });

  it("carries the kiosk host's token from the page's fragment", () => {
    const token = 'Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4';
    expect(bridgeUrl({ protocol: 'http:', host: '127.0.0.1:8123', hash: `#bridge-token=${token}` })).toBe(
      `ws://127.0.0.1:8123/bridge?token=${token}`,
    );
  });

  it('ignores a malformed token rather than putting it in the URL', () => {
    for (const hash of ['#bridge-token=short', '#bridge-token=a%26b%3Dc%26d%3Deeeeeeeeeeeee', '#other=x', '']) {
      expect(bridgeUrl({ protocol: 'http:', host: '127.0.0.1:8123', hash })).toBe('ws://127.0.0.1:8123/bridge');
    }
  });
});
