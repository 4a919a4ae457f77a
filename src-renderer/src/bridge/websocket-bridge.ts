import {
  BRIDGE_WIRE_MAX_BYTES,
  BridgeServerMessage,
  type BridgeClientMessage,
  type FramePresented,
  type PanelBridge,
  type PanelView,
  type RendererErrorReport,
} from '@airpanel/contract/internal';

export interface WebSocketBridgeOptions {
  /** e.g. `ws://127.0.0.1:8080/bridge`. */
  url: string;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Messages kept while disconnected (oldest dropped first). */
  outboxLimit?: number;
}

/**
 * The `PanelBridge` of the headless host: one WebSocket to `<host>/bridge`, JSON frames as
 * defined in `src-main/common/contract/bridge-wire.ts`. It reconnects with exponential
 * backoff (with jitter) when the socket drops; meanwhile the renderer keeps the last view,
 * and outgoing reports wait in a small bounded outbox.
 */
export class WebSocketBridge implements PanelBridge {
  private readonly url: string;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly outboxLimit: number;
  private socket: WebSocket | null = null;
  private current: PanelView | null = null;
  private readonly listeners = new Set<(view: PanelView) => void>();
  private waiters: Array<(view: PanelView) => void> = [];
  private outbox: BridgeClientMessage[] = [];
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  constructor(options: WebSocketBridgeOptions) {
    this.url = options.url;
    this.minBackoffMs = options.minBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.outboxLimit = options.outboxLimit ?? 32;
    this.connect();
  }

  getView(): Promise<PanelView> {
    if (this.current) return Promise.resolve(this.current);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  onView(listener: (view: PanelView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  framePresented(frame: FramePresented): void {
    this.send({ type: 'frame-presented', frame });
  }

  reportError(report: RendererErrorReport): void {
    this.send({ type: 'renderer-error', report: { message: report.message.slice(0, 2000) } });
  }

  /** Closes the socket for good (tests, page unload). */
  dispose(): void {
    this.disposed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.close();
    this.socket = null;
  }

  private connect(): void {
    if (this.disposed) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url);
    } catch (err) {
      console.error('airpanel bridge: cannot open', this.url, err);
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.flush();
    });
    socket.addEventListener('message', (event: MessageEvent) => {
      this.receive(event.data);
    });
    socket.addEventListener('close', () => {
      if (this.socket === socket) this.socket = null;
      this.scheduleReconnect();
    });
    // An 'error' is always followed by 'close', which schedules the reconnect.
  }

  private scheduleReconnect(): void {
    if (this.disposed || this.reconnectTimer) return;
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt = Math.min(this.attempt + 1, 16);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      this.reportError({ message: 'bridge: dropped a non-text frame' });
      return;
    }
    if (data.length > BRIDGE_WIRE_MAX_BYTES || new TextEncoder().encode(data).byteLength > BRIDGE_WIRE_MAX_BYTES) {
      this.reportError({ message: `bridge: dropped a frame over ${BRIDGE_WIRE_MAX_BYTES} bytes` });
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.reportError({ message: 'bridge: dropped a frame that is not JSON' });
      return;
    }
    const parsed = BridgeServerMessage.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      this.reportError({
        message: `bridge: dropped an invalid message (${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'})`,
      });
      return;
    }
    // A valid message: the connection works, so the next drop starts the backoff anew.
    this.attempt = 0;
    const { view } = parsed.data;
    this.current = view;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(view);
    for (const listener of this.listeners) {
      try {
        listener(view);
      } catch (err) {
        this.reportError({ message: `bridge: view listener failed: ${String(err)}` });
      }
    }
  }

  private send(message: BridgeClientMessage): void {
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return;
    }
    this.outbox.push(message);
    if (this.outbox.length > this.outboxLimit) this.outbox.splice(0, this.outbox.length - this.outboxLimit);
  }

  private flush(): void {
    const pending = this.outbox;
    this.outbox = [];
    for (const message of pending) this.send(message);
  }
}
