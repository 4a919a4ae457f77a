// A client for QEMU's machine protocol (QMP) on a unix socket: one JSON object per line, a
// greeting, `qmp_capabilities`, then commands answered in order ({"return": …} or
// {"error": …}) with asynchronous {"event": …} objects interleaved. Only what the boot suite
// uses: screendump, system_reset, quit, query-status, and the events it waits for.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

/** Answers and events are capped: QEMU's are small; anything bigger is not QEMU talking. */
const MAX_LINE = 1 << 20;

const QmpLine = z.union([
  z.object({ QMP: z.unknown() }),
  z.object({ return: z.unknown(), id: z.string().optional() }),
  z.object({ error: z.object({ class: z.string(), desc: z.string() }), id: z.string().optional() }),
  z.object({ event: z.string(), data: z.unknown().optional(), timestamp: z.unknown().optional() }),
]);
type QmpLine = z.infer<typeof QmpLine>;

export interface QmpEvent {
  event: string;
  data: unknown;
  /** Host monotonic time (performance.now) when it arrived. */
  at: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class QmpClient {
  private buffer = '';
  private readonly pending: Pending[] = [];
  private readonly waiters = new Set<{ name: string; resolve(e: QmpEvent): void }>();
  readonly events: QmpEvent[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.onClose(new Error('QMP connection closed')));
    socket.on('error', (err) => this.onClose(err));
  }

  /** Connects to `path` (retrying while QEMU creates it) and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 20_000): Promise<QmpClient> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        // The greeting comes first; it is consumed as the answer of a pseudo-command.
        await client.expectAnswer();
        await client.execute('qmp_capabilities');
        return client;
      } catch (err) {
        if (performance.now() > deadline) throw new Error(`QMP socket ${path} not ready: ${(err as Error).message}`);
        await sleep(200);
      }
    }
  }

  private expectAnswer(): Promise<unknown> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** Runs a QMP command and resolves with its `return` value; a QMP error rejects. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`QMP closed; cannot run ${command}`));
    const answer = this.expectAnswer();
    this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    return answer;
  }

  /** Resolves with the next event named `name` that arrives after this call. */
  nextEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const waiter = {
        name,
        resolve: (e: QmpEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no QMP event ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.socket.destroy();
    this.onClose(new Error('QMP closed by the harness'));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE) {
      this.socket.destroy(new Error('QMP line over 1 MiB'));
      return;
    }
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const text = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (text) this.onLine(text);
    }
  }

  private onLine(text: string): void {
    let line: QmpLine;
    try {
      line = QmpLine.parse(JSON.parse(text));
    } catch {
      return;
    }
    if ('event' in line) {
      const event: QmpEvent = { event: line.event, data: line.data, at: performance.now() };
      this.events.push(event);
      for (const w of [...this.waiters]) {
        if (w.name === line.event) {
          this.waiters.delete(w);
          w.resolve(event);
        }
      }
      return;
    }
    const next = this.pending.shift();
    if (!next) return;
    if ('error' in line) next.reject(new Error(`QMP error ${line.error.class}: ${line.error.desc}`));
    else next.resolve('return' in line ? line.return : line.QMP);
  }

  private onClose(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}
