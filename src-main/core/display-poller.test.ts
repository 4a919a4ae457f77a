import { createServer, type IncomingMessage } from 'node:http';
import got from 'got';
import { afterEach, describe, expect, it } from 'vitest';
import { displayETag } from '@airpanel/contract';
import { DisplayPoller } from './display-poller.js';
import { LoopbackBackend } from './testing/display-server.js';
import { makeDocument, TEST_API_KEY, waitFor } from './testing/fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function poller(apiBaseUrl: string, etag: () => string | null = () => null): DisplayPoller {
  return new DisplayPoller({ http: got, apiBaseUrl, panelId: 'panel-001', apiKey: TEST_API_KEY, timeoutMs: 2_000, currentETag: etag });
}

describe('DisplayPoller', () => {
  it('maps 200, 304 (with If-None-Match), 404 and other statuses', async () => {
    const backend = await LoopbackBackend.start();
    cleanups.push(() => backend.close());
    const doc = makeDocument('panel-001', 3);
    let etag: string | null = null;
    const p = poller(backend.url, () => etag);
    expect(await p.poll()).toEqual({ kind: 'none' });
    backend.display = { document: doc };
    const first = await p.poll();
    expect(first.kind).toBe('document');
    etag = displayETag(doc);
    expect(await p.poll()).toEqual({ kind: 'not-modified' });
    expect(backend.displayRequests().map((r) => [r.ifNoneMatch, r.status])).toEqual([
      [null, 404],
      [null, 200],
      ['"panel-001.3"', 304],
    ]);
  });

  it('reports other statuses, shares one request between overlapping polls and can cancel it', async () => {
    const seen: IncomingMessage[] = [];
    let aborted = false;
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/unavailable/')) {
        res.writeHead(503).end();
        return;
      }
      seen.push(req);
      req.on('close', () => (aborted = true));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    expect(await poller(`${base}/unavailable`).poll()).toEqual({ kind: 'http-error', status: 503 });
    const p = poller(base);
    const a = p.poll();
    const b = p.poll();
    expect(a).toBe(b);
    await waitFor('request at the server', () => seen.length === 1);
    p.cancel();
    expect((await a).kind).toBe('network-error');
    await waitFor('connection closed by the panel', () => aborted);
    expect(seen).toHaveLength(1);
  });
});
