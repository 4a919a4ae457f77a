import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { BRIDGE_WIRE_MAX_BYTES, BRIDGE_WS_PATH, BridgeClientMessage, type BridgeServerMessage } from '@airpanel/contract/internal';
import type { PanelViewSource } from '../core/host.js';
import type { Logger } from '@airpanel/node-support/logger';

/** Close code sent to renderers when the host asks them to reconnect (the `reload` command). */
export const BRIDGE_CLOSE_RELOAD = 4000;
/** Close code for a client that keeps sending invalid messages. */
export const BRIDGE_CLOSE_POLICY = 1008;
/** Query parameter of the bridge URL carrying the token (`/bridge?token=…`). */
export const BRIDGE_TOKEN_PARAM = 'token';

export interface BridgeServerOptions {
  source: PanelViewSource;
  log: Logger;
  /** Invalid messages tolerated per connection before it is closed (a renderer bug, or abuse). */
  maxInvalidMessages?: number;
  /**
   * A secret the upgrade must carry as `?token=` (the kiosk host's per-boot token, handed to
   * its own page only). Without it any local process could read the view and report frames.
   */
  token?: string;
}

/**
 * The main-process side of the WebSocket bridge (wire format: `common/contract/bridge-wire.ts`).
 * Every connection gets the current view at once and every later one; every incoming frame
 * is size-capped, parsed and validated before it reaches the core.
 */
export class BridgeServer {
  private readonly wss: WebSocketServer;
  private unsubscribe: () => void;
  private readonly maxInvalid: number;
  private source: PanelViewSource;

  constructor(private readonly opts: BridgeServerOptions) {
    this.maxInvalid = opts.maxInvalidMessages ?? 10;
    this.source = opts.source;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: BRIDGE_WIRE_MAX_BYTES, perMessageDeflate: false });
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req));
    this.unsubscribe = this.source.onView((view) => this.broadcast({ type: 'view', view }));
  }

  /** Swaps the core behind the bridge (a re-created core after `restart`); renderers get its view. */
  setSource(source: PanelViewSource): void {
    this.unsubscribe();
    this.source = source;
    this.unsubscribe = source.onView((view) => this.broadcast({ type: 'view', view }));
    this.broadcast({ type: 'view', view: source.getView() });
  }

  get clientCount(): number {
    return this.wss.clients.size;
  }

  /** Takes over an HTTP upgrade for `/bridge`; answers anything else with 404 / 403. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    if (url.pathname !== BRIDGE_WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!sameOrigin(req)) {
      this.opts.log.warn('bridge: refused a WebSocket from a foreign origin', { origin: req.headers.origin, host: req.headers.host });
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    if (this.opts.token !== undefined && !tokenMatches(url.searchParams.get(BRIDGE_TOKEN_PARAM), this.opts.token)) {
      this.opts.log.warn('bridge: refused a WebSocket without the bridge token', { peer: req.socket.remoteAddress });
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** Closes every renderer connection; the renderer reconnects and gets the current view. */
  disconnectAll(code: number, reason: string): number {
    let n = 0;
    for (const ws of this.wss.clients) {
      ws.close(code, reason);
      n++;
    }
    return n;
  }

  close(): Promise<void> {
    this.unsubscribe();
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    this.opts.log.info('bridge: renderer connected', { peer, clients: this.wss.clients.size });
    let invalid = 0;
    ws.on('error', (err) => this.opts.log.warn('bridge: socket error', { peer, error: err.message }));
    ws.on('close', () => this.opts.log.info('bridge: renderer disconnected', { peer }));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const msg = isBinary ? null : parseClientMessage(data);
      if (!msg) {
        invalid++;
        this.opts.log.warn('bridge: dropped an invalid message', { peer, invalid });
        if (invalid >= this.maxInvalid) ws.close(BRIDGE_CLOSE_POLICY, 'too many invalid messages');
        return;
      }
      try {
        if (msg.type === 'frame-presented') this.source.framePresented(msg.frame);
        else this.source.rendererError(msg.report);
      } catch (err) {
        this.opts.log.error('bridge: the core failed on a renderer message', { peer, type: msg.type, error: String(err) });
      }
    });
    send(ws, { type: 'view', view: this.source.getView() });
  }

  private broadcast(msg: BridgeServerMessage): void {
    const text = JSON.stringify(msg);
    for (const ws of this.wss.clients) if (ws.readyState === ws.OPEN) ws.send(text);
  }
}

function send(ws: WebSocket, msg: BridgeServerMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
}

function parseClientMessage(data: RawData): BridgeClientMessage | null {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  if (buf.byteLength > BRIDGE_WIRE_MAX_BYTES) return null;
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  const r = BridgeClientMessage.safeParse(json);
  return r.success ? r.data : null;
}

function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A browser always sends Origin on a WebSocket; it must name the host it connects to, so a
 * page from another site cannot drive the bridge. Non-browser clients (tests, the simulated
 * fleet) send none.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
