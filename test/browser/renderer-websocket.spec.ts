import { test, expect } from '@playwright/test';
import { WebSocketServer, type WebSocket } from 'ws';
import { BRIDGE_WS_PATH, BridgeClientMessage, type BridgeServerMessage, type PanelView } from '@airpanel/contract/internal';
import { serveRenderer, type StaticServer } from '../harness/browser/static-server.js';
import { contentView } from '../harness/browser/views.js';

// The renderer's own WebSocket bridge client against a real WebSocket endpoint at /bridge on
// the server that serves the built renderer: the discovery path of the headless host (no
// window.airpanel in the page). Every client message is validated with the shared schema.

test.use({ viewport: { width: 1280, height: 720 }, timezoneId: 'UTC', locale: 'en-GB' });

let server: StaticServer;
let wss: WebSocketServer;
let current: PanelView;
const sockets: WebSocket[] = [];
const received: BridgeClientMessage[] = [];
const invalid: string[] = [];
/** While false, the endpoint refuses upgrades (a host that is restarting). */
let accepting = true;
let refused = 0;

test.beforeEach(async () => {
  server = await serveRenderer();
  accepting = true;
  refused = 0;
  wss = new WebSocketServer({
    server: server.server,
    path: BRIDGE_WS_PATH,
    verifyClient: (_info, done) => {
      if (accepting) return done(true);
      refused++;
      done(false, 503);
    },
  });
  sockets.length = 0;
  received.length = 0;
  invalid.length = 0;
  current = contentView('good', { revision: 1 });
  wss.on('connection', (socket) => {
    sockets.push(socket);
    socket.send(JSON.stringify({ type: 'view', view: current } satisfies BridgeServerMessage));
    socket.on('message', (data) => {
      const parsed = BridgeClientMessage.safeParse(JSON.parse(String(data)));
      if (parsed.success) received.push(parsed.data);
      else invalid.push(String(data));
    });
  });
});

test.afterEach(async () => {
  for (const socket of wss.clients) socket.terminate();
  await new Promise<void>((done) => wss.close(() => done()));
  await server.close();
});

function framesOf(revision: number): number {
  return received.filter((m) => m.type === 'frame-presented' && m.frame.revision === revision).length;
}

function broadcast(view: PanelView): void {
  current = view;
  for (const socket of wss.clients) socket.send(JSON.stringify({ type: 'view', view } satisfies BridgeServerMessage));
}

test('without window.airpanel the renderer uses ws://<host>/bridge, reports frames, and reconnects keeping the last view', async ({
  page,
}) => {
  const foreign: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(`${server.origin}/`) && !req.url().startsWith(server.origin.replace('http', 'ws'))) foreign.push(req.url());
  });
  await page.goto(`${server.origin}/index.html`);

  // The view sent on connection is drawn and reported.
  await expect.poll(() => framesOf(1)).toBe(1);
  await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '1');

  // A pushed view replaces it.
  broadcast(contentView('bad', { revision: 2 }));
  await expect.poll(() => framesOf(2)).toBe(1);
  await expect(page.locator('.layer')).toHaveCount(1);
  await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '2');

  // The socket drops: the last view stays on screen while the client reconnects with backoff.
  current = contentView('moderate', { revision: 3 });
  for (const socket of wss.clients) socket.terminate();
  await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '2');
  await expect(page.locator('.layer')).toHaveCount(1);
  // On the new connection the host sends its current view.
  await expect.poll(() => sockets.length, { timeout: 10_000 }).toBe(2);
  await expect.poll(() => framesOf(3)).toBe(1);
  await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '3');

  // A message that breaks the contract is dropped and reported; the view stays.
  for (const socket of wss.clients) socket.send(JSON.stringify({ type: 'view', view: { kind: 'fireworks' } }));
  await expect
    .poll(() =>
      received
        .filter((m) => m.type === 'renderer-error')
        .map((m) => m.report.message)
        .join('\n'),
    )
    .toContain('bridge: dropped an invalid message');
  for (const socket of wss.clients) socket.send('not json');
  await expect
    .poll(() =>
      received
        .filter((m) => m.type === 'renderer-error')
        .map((m) => m.report.message)
        .join('\n'),
    )
    .toContain('not JSON');
  await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '3');

  expect(invalid).toEqual([]);
  expect(foreign).toEqual([]);
});

test('maintenance and booting views arrive over the socket and are reported without a revision', async ({ page }) => {
  current = { kind: 'booting' };
  await page.goto(`${server.origin}/index.html`);
  await expect.poll(() => received.some((m) => m.type === 'frame-presented' && m.frame.kind === 'booting')).toBe(true);
  broadcast({ kind: 'maintenance', code: 'CFG-1' });
  await expect
    .poll(() => received.some((m) => m.type === 'frame-presented' && m.frame.kind === 'maintenance' && m.frame.revision === null))
    .toBe(true);
  await expect(page.getByTestId('maintenance-code')).toHaveText('CFG-1');
  expect(invalid).toEqual([]);
});

test('while the host refuses connections the client keeps retrying with backoff, and the last view stays', async ({ page }) => {
  await page.goto(`${server.origin}/index.html`);
  await expect.poll(() => framesOf(1)).toBe(1);

  accepting = false;
  for (const socket of wss.clients) socket.terminate();
  await expect.poll(() => refused, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
  await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '1');
  await expect(page.locator('.layer')).toHaveCount(1);

  // An error caught while disconnected waits in the outbox and arrives after the reconnect.
  await page.evaluate(() => {
    setTimeout(() => {
      throw new Error('while offline');
    });
  });
  current = contentView('bad', { revision: 2 });
  accepting = true;
  await expect.poll(() => framesOf(2), { timeout: 10_000 }).toBe(1);
  await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '2');
  await expect
    .poll(() =>
      received
        .filter((m) => m.type === 'renderer-error')
        .map((m) => m.report.message)
        .join('\n'),
    )
    .toContain('while offline');
  expect(invalid).toEqual([]);
});
