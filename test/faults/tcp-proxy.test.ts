// The fault proxy itself, against a TCP echo server on 127.0.0.1.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LinkProxy } from '@airpanel/panel/headless/simulator/link-proxy';

let echo: Server;
let proxy: LinkProxy;
const clients: Socket[] = [];

beforeEach(async () => {
  echo = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  proxy = new LinkProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
  await proxy.listen();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

function dial(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(proxy.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
    clients.push(s);
  });
}

/** What comes back within `ms`, and whether the socket was reset. */
function receive(s: Socket, ms: number): Promise<{ data: string; reset: boolean; firstAt: number | null }> {
  return new Promise((resolve) => {
    let data = '';
    let reset = false;
    let firstAt: number | null = null;
    s.on('data', (c: Buffer) => {
      firstAt ??= performance.now();
      data += c.toString();
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') reset = true;
    });
    setTimeout(() => resolve({ data, reset, firstAt }), ms);
  });
}

describe('LinkProxy', () => {
  it('pass relays both ways', async () => {
    const s = await dial();
    const got = receive(s, 200);
    s.write('hello');
    expect((await got).data).toBe('hello');
  });

  it('delay relays each chunk no sooner than the delay, in order', async () => {
    proxy.setMode({ kind: 'delay', ms: 150 });
    const s = await dial();
    const got = receive(s, 1_000);
    const sentAt = performance.now();
    s.write('a');
    s.write('b');
    const r = await got;
    expect(r.data).toBe('ab');
    // Each way is delayed: at least two delays for the echo.
    expect(r.firstAt! - sentAt).toBeGreaterThanOrEqual(280);
  });

  it('blackhole keeps connections open and forwards nothing; they stay dead after pass', async () => {
    const old = await dial();
    proxy.setMode({ kind: 'blackhole' });
    const fresh = await dial(); // accepted: a half-open link looks connected
    const a = receive(old, 300);
    const b = receive(fresh, 300);
    old.write('x');
    fresh.write('y');
    expect(await a).toEqual({ data: '', reset: false, firstAt: null });
    expect(await b).toEqual({ data: '', reset: false, firstAt: null });
    proxy.setMode({ kind: 'pass' });
    const c = receive(old, 200);
    old.write('z');
    expect((await c).data).toBe('');
    const next = await dial();
    const d = receive(next, 200);
    next.write('ok');
    expect((await d).data).toBe('ok');
  });

  it('reset resets open connections and every new one', async () => {
    const s = await dial();
    const r = receive(s, 200);
    proxy.setMode({ kind: 'reset' });
    expect((await r).reset).toBe(true);
    const again = connect(proxy.port, '127.0.0.1');
    clients.push(again);
    const r2 = await receive(again, 200);
    expect(r2.reset || again.destroyed).toBe(true);
  });
});
