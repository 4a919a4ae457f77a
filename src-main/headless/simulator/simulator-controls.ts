import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMAND_KINDS, DEFAULT_LEVEL_SCHEME, type CommandAckStatus, type CommandKind, type PollutantValues } from '@airpanel/contract';
import {
  PANEL_SIZES,
  PanelSizeId,
  SimulatorAction,
  type SimulatorActionResult,
  type SimulatorState,
  type SwitchState,
} from '@airpanel/contract/internal';
import type { HttpMount } from '../headless-host.js';
import { silentLogger, type Logger } from '@airpanel/node-support/logger';
import { SIMULATOR_CSP, securityHeaders } from '../security-headers.js';

/** The backend admin API as the simulator uses it (see admin-client.ts). */
export interface SimulatorAdmin {
  setReading(values: PollutantValues): Promise<void>;
  /** Returns the command's id. */
  sendCommand(kind: CommandKind): Promise<string>;
  /** The acks the backend recorded for a command, oldest first. */
  commandAcks(id: string): Promise<{ status: CommandAckStatus; detail: string | null }[]>;
}

/** Something the simulator can switch off and on (the network link, the backend). */
export interface SimulatorSwitch {
  readonly up: boolean;
  set(up: boolean): Promise<void>;
}

export interface SimulatorControlsOptions {
  panelId: string;
  admin: SimulatorAdmin;
  network?: SimulatorSwitch;
  backend?: SimulatorSwitch;
  /** Same-origin URL of the panel preview; null when the panel shows elsewhere (Electron). */
  panelUrl: string | null;
  size?: PanelSizeId;
  /** How long and how often the acks of a sent command are followed. */
  ackFollow?: { everyMs: number; forMs: number };
  /** Called after a size change (the Electron simulator resizes its panel window). */
  onSizeChange?: (size: PanelSizeId) => void;
  log?: Logger;
  /** Where index.html, simulator.js and simulator.css live (default: ./static beside this module). */
  staticDir?: string;
  /** The panel's own sensor, when it is a virtual one the simulator sets (VirtualSensor). */
  ownSensor?: { set(values: PollutantValues | null): void; readonly current: PollutantValues | null };
}

export const SIMULATOR_PATH = '/simulator';
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  [SIMULATOR_PATH]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${SIMULATOR_PATH}/`]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${SIMULATOR_PATH}/simulator.js`]: { file: 'simulator.js', type: 'text/javascript; charset=utf-8' },
  [`${SIMULATOR_PATH}/simulator.css`]: { file: 'simulator.css', type: 'text/css; charset=utf-8' },
};
const MAX_BODY_BYTES = 16 * 1024;

/** Readings for the default scheme's three levels, well clear of the hysteresis margin. */
function presets(): SimulatorState['presets'] {
  const pm25 = DEFAULT_LEVEL_SCHEME.breakpoints.pm25 ?? [20, 50];
  const [low = 20, high = 50] = pm25;
  return [
    { label: 'Good', values: { pm25: Math.round(low * 0.4) } },
    { label: 'Moderate', values: { pm25: Math.round((low + high) / 2) } },
    { label: 'Bad', values: { pm25: Math.round(high * 1.6) } },
  ];
}

/**
 * The developer simulator's controls: one static page (served at `/simulator`, shared by the
 * browser simulator and the Electron simulator's control window) and its API:
 * `GET /simulator/api/state`, `GET /simulator/api/events` (server-sent events, one state per
 * change), `POST /simulator/api/action` (a `SimulatorAction`, validated). It holds no
 * secret the page could read: the admin token stays in `admin` on the server side.
 */
export class SimulatorControls implements HttpMount {
  private size: PanelSizeId;
  private lastReading: SimulatorState['lastReading'] = null;
  private lastCommand: SimulatorState['lastCommand'] = null;
  private lastError: string | null = null;
  private readonly listeners = new Set<ServerResponse>();
  private readonly log: Logger;
  private readonly staticDir: string;
  private readonly presets = presets();
  private ackTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: SimulatorControlsOptions) {
    this.size = opts.size ?? 'landscape';
    this.log = opts.log ?? silentLogger;
    this.staticDir = opts.staticDir ?? fileURLToPath(new URL('./static/', import.meta.url));
  }

  get state(): SimulatorState {
    const sw = (s: SimulatorSwitch | undefined): SwitchState => (s ? (s.up ? 'up' : 'down') : 'unavailable');
    return {
      panelId: this.opts.panelId,
      panelUrl: this.opts.panelUrl,
      size: this.size,
      network: sw(this.opts.network),
      backend: sw(this.opts.backend),
      lastReading: this.lastReading,
      ownSensor: this.opts.ownSensor ? { values: this.opts.ownSensor.current } : null,
      lastCommand: this.lastCommand,
      lastError: this.lastError,
      presets: this.presets,
      sizes: PanelSizeId.options.map((id) => ({ id, ...PANEL_SIZES[id] })),
      commands: [...COMMAND_KINDS],
    };
  }

  /** Carries out one action; never throws (a failure is reported in the result and state). */
  async apply(action: SimulatorAction): Promise<SimulatorActionResult> {
    try {
      switch (action.action) {
        case 'set-reading':
          await this.opts.admin.setReading(action.values);
          this.lastReading = { values: action.values, at: new Date().toISOString() };
          break;
        case 'send-command': {
          const id = await this.opts.admin.sendCommand(action.kind);
          this.lastCommand = { kind: action.kind, id, at: new Date().toISOString(), ack: null };
          this.followAcks(id);
          break;
        }
        case 'set-network':
          if (!this.opts.network) throw new Error('this simulator cannot switch the network');
          await this.opts.network.set(action.up);
          break;
        case 'set-backend':
          if (!this.opts.backend) throw new Error('this simulator cannot stop the backend');
          await this.opts.backend.set(action.up);
          break;
        case 'set-size':
          this.size = action.size;
          this.opts.onSizeChange?.(action.size);
          break;
        case 'set-own-sensor':
          if (!this.opts.ownSensor) throw new Error('this panel has no simulated own sensor');
          this.opts.ownSensor.set(action.values);
          break;
      }
      this.lastError = null;
      this.log.info('simulator: action done', { action: action.action });
      return { ok: true, state: this.publish() };
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log.warn('simulator: action failed', { action: action.action, error: this.lastError });
      return { ok: false, error: this.lastError, state: this.publish() };
    }
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname;
    if (path !== SIMULATOR_PATH && !path.startsWith(`${SIMULATOR_PATH}/`)) return false;
    const headers = securityHeaders(SIMULATOR_CSP);
    const file = STATIC_FILES[path];
    if (file) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, { ...headers, allow: 'GET, HEAD' });
      void readFile(join(this.staticDir, file.file))
        .then((body) => {
          res.writeHead(200, { ...headers, 'content-type': file.type, 'cache-control': 'no-cache' });
          res.end(req.method === 'HEAD' ? undefined : body);
        })
        .catch((err: unknown) => {
          this.log.error('simulator: static file missing', { file: file.file, error: String(err) });
          reply(res, 500, headers);
        });
      return true;
    }
    if (path === `${SIMULATOR_PATH}/api/state` && req.method === 'GET') {
      return json(res, 200, headers, this.state);
    }
    if (path === `${SIMULATOR_PATH}/api/events` && req.method === 'GET') {
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`data: ${JSON.stringify(this.state)}\n\n`);
      this.listeners.add(res);
      res.on('close', () => this.listeners.delete(res));
      return true;
    }
    if (path === `${SIMULATOR_PATH}/api/action`) {
      if (req.method !== 'POST') return reply(res, 405, { ...headers, allow: 'POST' });
      // JSON only (a cross-site form cannot send it without a CORS preflight, which this
      // server never grants) and, from a browser, only from this origin.
      if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
        return json(res, 415, headers, { error: 'send application/json' });
      const origin = req.headers.origin;
      if (origin !== undefined && !sameHost(origin, req.headers.host)) return json(res, 403, headers, { error: 'foreign origin' });
      void readBody(req).then(
        async (text) => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            return json(res, 400, headers, { error: 'invalid JSON' });
          }
          const parsed = SimulatorAction.safeParse(body);
          if (!parsed.success) return json(res, 400, headers, { error: 'invalid action', issues: parsed.error.issues.slice(0, 5) });
          const result = await this.apply(parsed.data);
          json(res, result.ok ? 200 : 502, headers, result);
        },
        () => json(res, 413, headers, { error: 'body too large' }),
      );
      return true;
    }
    return json(res, 404, headers, { error: 'not found' });
  }

  /** Polls the backend for the command's acks until a final one (or time runs out). */
  private followAcks(id: string): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    const { everyMs, forMs } = this.opts.ackFollow ?? { everyMs: 500, forMs: 15_000 };
    const until = Date.now() + forMs;
    const poll = async () => {
      this.ackTimer = null;
      if (this.lastCommand?.id !== id || this.closed) return;
      try {
        const acks = await this.opts.admin.commandAcks(id);
        const last = acks.at(-1);
        if (
          last &&
          this.lastCommand?.id === id &&
          (this.lastCommand.ack?.status !== last.status || this.lastCommand.ack?.detail !== last.detail)
        ) {
          this.lastCommand = { ...this.lastCommand, ack: { status: last.status, detail: last.detail } };
          this.publish();
        }
        if (last && last.status !== 'accepted') return;
      } catch (err) {
        this.log.debug('simulator: ack poll failed', { error: String(err) });
      }
      if (Date.now() < until && !this.closed) {
        this.ackTimer = setTimeout(() => void poll(), everyMs);
        this.ackTimer.unref();
      }
    };
    this.ackTimer = setTimeout(() => void poll(), everyMs);
    this.ackTimer.unref();
  }

  /** Ends every event stream and the ack polling (call before closing the server). */
  close(): void {
    this.closed = true;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    for (const res of this.listeners) res.end();
    this.listeners.clear();
  }

  private publish(): SimulatorState {
    const state = this.state;
    const line = `data: ${JSON.stringify(state)}\n\n`;
    for (const res of this.listeners) res.write(line);
    return state;
  }
}

function reply(res: ServerResponse, status: number, headers: Record<string, string>): true {
  res.writeHead(status, headers).end();
  return true;
}

function json(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): true {
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
  return true;
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) reject(new Error('too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The controls on a server of their own (127.0.0.1), for when the panel is not served by a
 * headless host: the Electron simulator opens its control window on `<url>/simulator`.
 */
export async function startSimulatorServer(controls: SimulatorControls, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator.invalid');
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (!controls.handle(req, res, url)) res.writeHead(404, securityHeaders(SIMULATOR_CSP)).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: async () => {
      controls.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
