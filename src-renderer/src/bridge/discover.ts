import { BRIDGE_WS_PATH, type PanelBridge } from '@airpanel/contract/internal';
import { WebSocketBridge } from './websocket-bridge.js';

declare global {
  interface Window {
    /** Put there by the Electron preload (contextBridge.exposeInMainWorld('airpanel', …)). */
    airpanel?: PanelBridge;
  }
}

/**
 * The URL of the headless host's bridge: same host that served this page, path `/bridge`.
 * A kiosk host that guards its bridge opens the page as `…/#bridge-token=<secret>`: the
 * fragment never leaves the browser in a request, and the bridge URL carries it as `?token=`.
 */
export function bridgeUrl(location: Pick<Location, 'protocol' | 'host'> & Partial<Pick<Location, 'hash'>>): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams((location.hash ?? '').replace(/^#/, '')).get('bridge-token');
  const query = token && /^[A-Za-z0-9_-]{16,128}$/.test(token) ? `?token=${token}` : '';
  return `${scheme}//${location.host}${BRIDGE_WS_PATH}${query}`;
}

/**
 * Bridge discovery, the contract with both hosts: the preload's `window.airpanel` if there
 * is one (Electron), otherwise a WebSocket to the host that served the page (headless).
 */
export function discoverBridge(win: Window = window): PanelBridge {
  if (win.airpanel) return win.airpanel;
  if (!win.location.host) throw new Error(`no bridge: no window.airpanel and no host to connect to (${win.location.protocol})`);
  return new WebSocketBridge({ url: bridgeUrl(win.location) });
}
