import type { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { CdpMessage } from '@airpanel/contract/internal';

/** Largest message accepted from the browser (a full-screen PNG screenshot in base64 fits). */
export const CDP_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** How messages travel: a WebSocket (`--remote-debugging-port`) or the pipe (`--remote-debugging-pipe`). */
export interface CdpTransport {
  send(text: string): void;
  /** Every complete message, as text; `onClose` once, when the transport ends. */
  onMessage(listener: (text: string) => void): void;
  onClose(listener: (reason: string) => void): void;
  close(): void;
}

export type CdpEventListener = (method: string, params: Record<string, unknown>, sessionId: string | undefined) => void;

/**
 * A DevTools protocol client over any transport: commands with an id and a timeout, answers
 * matched by id, events to listeners. Sessions are flattened (`Target.attachToTarget` with
 * `flatten: true`): a command for a page carries the page's `sessionId`. Every incoming
 * message is size-capped and validated; anything malformed is dropped.
 */
export class CdpConnection {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { method: string; resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly listeners = new Set<CdpEventListener>();
  private closedReason: string | null = null;

  constructor(
    private readonly transport: CdpTransport,
    private readonly timeoutMs = 10_000,
  ) {
    transport.onMessage((text) => this.onMessage(text));
    transport.onClose((reason) => {
      this.closedReason = reason;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`DevTools connection closed (${reason})`));
      }
      this.pending.clear();
    });
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: CdpEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
    timeoutMs = this.timeoutMs,
  ): Promise<Record<string, unknown>> {
    if (this.closedReason !== null) return Promise.reject(new Error(`DevTools ${method}: connection closed (${this.closedReason})`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`DevTools ${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { method, resolve, reject, timer });
      try {
        this.transport.send(JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params }));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  close(): void {
    this.transport.close();
  }

  private onMessage(text: string): void {
    if (text.length > CDP_MAX_MESSAGE_BYTES) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const parsed = CdpMessage.safeParse(json);
    if (!parsed.success) return;
    const msg = parsed.data;
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new Error(`DevTools ${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    if (msg.method) {
      for (const l of [...this.listeners]) {
        try {
          l(msg.method, msg.params ?? {}, msg.sessionId);
        } catch {
          // A listener's bug must not stop the others or the connection.
        }
      }
    }
  }
}

/**
 * Chromium's `--remote-debugging-pipe`: it reads commands from its fd 3 and writes messages
 * to its fd 4, each a JSON text ended by a NUL byte. Give it the child's stdio[3] (`toBrowser`)
 * and stdio[4] (`fromBrowser`). A message over the cap ends the transport (the browser
 * misbehaves; the host restarts it).
 */
export function pipeTransport(toBrowser: Writable, fromBrowser: Readable, maxBytes = CDP_MAX_MESSAGE_BYTES): CdpTransport {
  const messageListeners: ((text: string) => void)[] = [];
  const closeListeners: ((reason: string) => void)[] = [];
  let chunks: Buffer[] = [];
  let size = 0;
  let closed = false;
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    chunks = [];
    for (const l of closeListeners) l(reason);
  };
  fromBrowser.on('data', (data: Buffer) => {
    if (closed) return;
    let start = 0;
    for (let nul = data.indexOf(0, start); nul !== -1; nul = data.indexOf(0, start)) {
      chunks.push(data.subarray(start, nul));
      const text = Buffer.concat(chunks).toString('utf8');
      chunks = [];
      size = 0;
      start = nul + 1;
      for (const l of messageListeners) l(text);
    }
    if (start < data.length) {
      chunks.push(data.subarray(start));
      size += data.length - start;
      if (size > maxBytes) {
        close(`message over ${maxBytes} bytes`);
        fromBrowser.destroy();
      }
    }
  });
  fromBrowser.on('end', () => close('pipe ended'));
  fromBrowser.on('error', (err) => close(`pipe error: ${err.message}`));
  toBrowser.on('error', (err) => close(`pipe error: ${err.message}`));
  return {
    send: (text) => {
      if (closed) throw new Error('pipe closed');
      toBrowser.write(`${text}\0`);
    },
    onMessage: (l) => messageListeners.push(l),
    onClose: (l) => closeListeners.push(l),
    close: () => {
      toBrowser.end();
      fromBrowser.destroy();
      close('closed by the host');
    },
  };
}

/** A DevTools WebSocket (`--remote-debugging-port`), already open. */
export function webSocketTransport(ws: WebSocket): CdpTransport {
  return {
    send: (text) => ws.send(text),
    onMessage: (l) => ws.on('message', (data) => l(String(data))),
    onClose: (l) => ws.on('close', (code) => l(`WebSocket closed (${code})`)),
    close: () => ws.close(),
  };
}
