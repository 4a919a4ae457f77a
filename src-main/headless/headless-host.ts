import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RESTART_EXIT_CODE, type HostActions, type PanelViewSource } from '../core/host.js';
import { BRIDGE_CLOSE_RELOAD, BridgeServer } from './bridge-server.js';
import { silentLogger, type Logger } from '@airpanel/node-support/logger';
import { PANEL_CSP, securityHeaders } from './security-headers.js';
import { createStaticSite, type StaticSite } from './static-site.js';

/**
 * A browser page the host may drive for `reload` and `screenshot`. A Playwright `Page` fits
 * as it is; so would a small CDP client. Kept structural so this layer imports no browser
 * automation library.
 */
export interface AttachedPage {
  screenshot(options?: { type?: 'png' }): Promise<Uint8Array>;
  reload(): Promise<unknown>;
}

/** Extra routes mounted on the same server (the browser simulator). */
export interface HttpMount {
  /** Handles the request (returns true) or leaves it to the next mount / the renderer. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
}

export interface HeadlessHostOptions {
  /** The built renderer (src-renderer/dist). */
  rendererDir: string;
  /** Interface to bind; 127.0.0.1 unless you mean to expose the panel. */
  host?: string;
  port?: number;
  log?: Logger;
  /** What `restart` does; default: exit with RESTART_EXIT_CODE for the supervisor. */
  restart?: () => Promise<void>;
  mounts?: HttpMount[];
  /** The bridge accepts only upgrades carrying this token (the kiosk host's per-boot secret). */
  bridgeToken?: string;
}

/**
 * The panel core under plain Node: serves the built renderer and the bridge WebSocket at
 * `/bridge` on one HTTP server, and carries out the core's HostActions.
 *
 * Usage: `const host = new HeadlessHost(opts); const core = new PanelCore({ hostActions:
 * host.actions, … }); await host.listen(core);`: the actions exist before the core, the
 * core before the server.
 */
export class HeadlessHost {
  readonly actions: HostActions;
  private readonly log: Logger;
  private server: Server | null = null;
  private bridge: BridgeServer | null = null;
  private page: AttachedPage | null = null;
  private baseUrl: string | null = null;

  constructor(private readonly opts: HeadlessHostOptions) {
    this.log = opts.log ?? silentLogger;
    this.actions = {
      reloadRenderer: () => this.reloadRenderer(),
      restartApp: () => this.restartApp(),
      captureScreenshot: () => this.captureScreenshot(),
    };
  }

  /** `http://127.0.0.1:<port>`, once listening. */
  get url(): string {
    if (!this.baseUrl) throw new Error('headless host: not listening');
    return this.baseUrl;
  }

  /** Renderers connected over the bridge right now. */
  get rendererCount(): number {
    return this.bridge?.clientCount ?? 0;
  }

  /** Lets `reload` and `screenshot` drive a real browser page (null to detach). */
  attachPage(page: AttachedPage | null): void {
    this.page = page;
  }

  async listen(source: PanelViewSource): Promise<string> {
    if (this.server) throw new Error('headless host: already listening');
    const site = await createStaticSite(this.opts.rendererDir);
    if (!site.paths.includes('/index.html')) {
      throw new Error(`headless host: no index.html in ${this.opts.rendererDir} (run npm run build:renderer)`);
    }
    const bridge = new BridgeServer({
      source,
      log: this.log,
      ...(this.opts.bridgeToken !== undefined ? { token: this.opts.bridgeToken } : {}),
    });
    const server = createServer((req, res) => this.onRequest(site, req, res));
    server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://x');
      } catch {
        socket.destroy();
        return;
      }
      bridge.handleUpgrade(req, socket, head, url);
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    this.server = server;
    this.bridge = bridge;
    this.baseUrl = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    this.log.info('headless host: listening', { url: this.baseUrl, files: site.paths.length });
    return this.baseUrl;
  }

  /**
   * Puts another core behind the bridge, e.g. a re-created one for `restart` when the host
   * runs in-process (the dev stack) instead of under a supervisor.
   */
  setSource(source: PanelViewSource): void {
    if (!this.bridge) throw new Error('headless host: not listening');
    this.bridge.setSource(source);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    await this.bridge?.close();
    this.bridge = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private onRequest(site: StaticSite, req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://panel.invalid');
    } catch {
      res.writeHead(400, securityHeaders(PANEL_CSP)).end();
      return;
    }
    try {
      for (const mount of this.opts.mounts ?? []) if (mount.handle(req, res, url)) return;
      if (site.handle(req, res, url.pathname, securityHeaders(PANEL_CSP))) return;
      res.writeHead(404, { ...securityHeaders(PANEL_CSP), 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    } catch (err) {
      this.log.error('headless host: request failed', { path: url.pathname, error: String(err) });
      if (!res.headersSent) res.writeHead(500, securityHeaders(PANEL_CSP));
      res.end();
    }
  }

  private async reloadRenderer(): Promise<void> {
    if (this.page) {
      this.log.info('headless host: reloading the attached page');
      await this.page.reload();
      return;
    }
    // No page to drive: drop the bridge connections; each renderer reconnects and is sent
    // the current view afresh (the wire format has no reload message).
    const n = this.bridge?.disconnectAll(BRIDGE_CLOSE_RELOAD, 'reload') ?? 0;
    this.log.info('headless host: reload → bridge connections reset', { renderers: n });
  }

  private async restartApp(): Promise<void> {
    this.log.warn('headless host: restart requested');
    if (this.opts.restart) return this.opts.restart();
    await this.close();
    process.exit(RESTART_EXIT_CODE);
  }

  private async captureScreenshot(): Promise<Uint8Array | null> {
    if (!this.page) {
      // HostActions says null = no renderer to capture; the core acks with that detail.
      this.log.info('headless host: screenshot requested but no browser page is attached');
      return null;
    }
    return this.page.screenshot({ type: 'png' });
  }
}
