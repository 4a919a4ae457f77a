import { readFile } from 'node:fs/promises';
import type { App, Session, WebContents } from 'electron';
import type { Logger } from '@airpanel/node-support/logger';
import { APP_CSP, APP_SCHEME, isAppUrl, resolveAppFile } from './app-origin.js';

/**
 * The Electron security checklist, applied app-wide (see README.md for the item → place
 * table). Web preferences (contextIsolation, sandbox, nodeIntegration, webSecurity) are set
 * where windows are created (windows.ts); everything else lives here.
 */

/** Origins a window may show besides the app: the simulator's control page (simulator mode). */
export interface SecurityPolicy {
  extraOrigins: readonly string[];
  /** DevTools' own devtools:// requests pass the request filter (development only). */
  allowDevTools?: boolean;
}

/**
 * DevTools only for a developer who asks (AIRPANEL_DEVTOOLS=1) on an unpackaged Electron
 * (`electron dist/app/main.js`); a packaged runtime (every panel) never opens them, whatever
 * its environment says.
 */
export function devToolsEnabled(isPackaged: boolean, env: Record<string, string | undefined>): boolean {
  return !isPackaged && env.AIRPANEL_DEVTOOLS === '1';
}

/** What the session's request filter lets through: the app, data: URLs, the policy's origins. */
export function requestAllowed(url: string, policy: SecurityPolicy): boolean {
  if (allowedUrl(url, policy) || url.startsWith('data:')) return true;
  return policy.allowDevTools === true && url.startsWith('devtools://');
}

/** What a window may navigate to / request: the app, or an extra origin of the policy. */
export function allowedUrl(url: string, policy: SecurityPolicy): boolean {
  if (isAppUrl(url)) return true;
  try {
    return policy.extraOrigins.includes(new URL(url).origin);
  } catch {
    return false;
  }
}

/** Every web contents ever created: no navigation away, no new windows, no <webview>. */
export function hardenAllWebContents(app: App, policy: SecurityPolicy, log: Logger): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-attach-webview', (event) => {
      event.preventDefault();
      log.warn('security: <webview> attach denied');
    });
    contents.setWindowOpenHandler(({ url }) => {
      log.warn('security: window.open denied', { url });
      return { action: 'deny' };
    });
    // Renderer-initiated navigations only (loadURL from the main process does not emit
    // these), so the maintenance data: page and reloads still work.
    contents.on('will-navigate', (event) => {
      if (!allowedUrl(event.url, policy)) {
        event.preventDefault();
        log.warn('security: navigation denied', { url: event.url });
      }
    });
    contents.on('will-frame-navigate', (event) => {
      if (!allowedUrl(event.url, policy)) {
        event.preventDefault();
        log.warn('security: frame navigation denied', { url: event.url });
      }
    });
    contents.on('will-redirect', (event) => {
      if (!allowedUrl(event.url, policy)) {
        event.preventDefault();
        log.warn('security: redirect denied', { url: event.url });
      }
    });
  });
}

/**
 * A session: no permission is ever granted (camera, notifications, geolocation, HID…), no
 * request leaves for anything but the app (and the simulator's origin), every response
 * carries the app's CSP, and app:// serves the built renderer (known files only).
 */
export function hardenSession(ses: Session, opts: { rendererDir: string; policy: SecurityPolicy; log: Logger }): void {
  const { log, policy } = opts;
  ses.setPermissionRequestHandler((_contents, permission, callback) => {
    log.warn('security: permission request denied', { permission });
    callback(false);
  });
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);

  ses.webRequest.onBeforeRequest((details, callback) => {
    const ok = requestAllowed(details.url, policy);
    if (!ok) log.warn('security: request blocked', { url: details.url.slice(0, 200) });
    callback({ cancel: !ok });
  });
  // The CSP is also sent by the app:// handler below; this covers any other response.
  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    if (isAppUrl(details.url)) headers['Content-Security-Policy'] = [APP_CSP];
    callback({ responseHeaders: headers });
  });

  ses.protocol.handle(APP_SCHEME, async (request) => {
    if (request.method !== 'GET') return new Response(null, { status: 405 });
    const file = resolveAppFile(opts.rendererDir, request.url);
    if (!file) return new Response('not found', { status: 404, headers: { 'content-security-policy': APP_CSP } });
    return new Response(await readFile(file.path), {
      status: 200,
      headers: { 'content-type': file.contentType, 'content-security-policy': APP_CSP, 'x-content-type-options': 'nosniff' },
    });
  });
}
