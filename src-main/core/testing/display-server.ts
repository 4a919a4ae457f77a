// Test support only: a real HTTP server on 127.0.0.1 playing the backend's panel routes
// (display document with ETag / If-None-Match, screenshot upload), recording every request.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { displayETag, type DisplayDocument } from '@airpanel/contract';

export interface RecordedRequest {
  method: string;
  url: string;
  ifNoneMatch: string | null;
  authorization: string | null;
  contentType: string | null;
  status: number;
  bodyBytes: number;
}

export class LoopbackBackend {
  readonly requests: RecordedRequest[] = [];
  /** What GET …/display answers: a document, raw bytes (e.g. oversized), or nothing (404). */
  display: { document: DisplayDocument } | { raw: Buffer; etag: string } | null = null;
  /** Status answered to a screenshot PUT; 404 plays a backend without that route. */
  screenshotStatus = 204;
  readonly screenshots: Buffer[] = [];
  private server: Server | null = null;
  private port = 0;

  static async start(): Promise<LoopbackBackend> {
    const backend = new LoopbackBackend();
    await backend.listen();
    return backend;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  displayRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.url.endsWith('/display'));
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = req.url ?? '';
    if (req.method === 'GET' && /^\/api\/v1\/panels\/[^/]+\/display$/.test(url)) {
      if (!this.display) return { status: 404, headers: {}, body: Buffer.alloc(0) };
      const [bytes, etag] =
        'document' in this.display
          ? [Buffer.from(JSON.stringify(this.display.document)), displayETag(this.display.document)]
          : [this.display.raw, this.display.etag];
      if (req.headers['if-none-match'] === etag) return { status: 304, headers: { etag }, body: Buffer.alloc(0) };
      return { status: 200, headers: { etag, 'content-type': 'application/json' }, body: bytes };
    }
    if (req.method === 'PUT' && /^\/api\/v1\/panels\/[^/]+\/screenshot$/.test(url)) {
      if (this.screenshotStatus < 300) this.screenshots.push(body);
      return { status: this.screenshotStatus, headers: {}, body: Buffer.alloc(0) };
    }
    return { status: 404, headers: {}, body: Buffer.alloc(0) };
  }

  private listen(): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req).then(({ status, headers, body }) => {
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          ifNoneMatch: (req.headers['if-none-match'] as string | undefined) ?? null,
          authorization: req.headers.authorization ?? null,
          contentType: req.headers['content-type'] ?? null,
          status,
          bodyBytes: Number(req.headers['content-length'] ?? 0),
        });
        res.writeHead(status, headers);
        res.end(body);
      });
    });
    this.server = server;
    return new Promise((resolve) => {
      server.listen(this.port, '127.0.0.1', () => {
        const address = server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
  }
}
