import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real loopback HTTP server standing in for a sensor vendor's cloud. Each path answers
 * with a handler the test sets; it counts requests and the most that were in flight at once.
 */
export class VendorServer {
  private server: Server | null = null;
  readonly handlers = new Map<string, (req: IncomingMessage, res: ServerResponse, attempt: number) => void>();
  readonly requests = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const attempt = (this.requests.get(path) ?? 0) + 1;
      this.requests.set(path, attempt);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      res.on('close', () => {
        this.inFlight--;
      });
      const handler = this.handlers.get(path);
      if (!handler) {
        res.writeHead(404).end();
        return;
      }
      handler(req, res, attempt);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  json(path: string, body: unknown, options: { status?: number; delayMs?: number } = {}): void {
    this.handlers.set(path, (_req, res) => {
      const send = () => res.writeHead(options.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (options.delayMs) setTimeout(send, options.delayMs);
      else send();
    });
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }
}
