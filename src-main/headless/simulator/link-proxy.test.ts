import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LinkProxy } from './link-proxy.js';

/** Sends `text` through a new connection to `port` and resolves with the echo, or the error code. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += String(d);
      if (got.length >= text.length) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code ?? e.message}`));
    s.on('close', () => resolve(got === '' ? 'closed' : got));
    s.write(text);
  });
}

describe('LinkProxy', () => {
  let echo: Server;
  let proxy: LinkProxy;
  const sockets = new Set<Socket>();

  beforeEach(async () => {
    echo = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    proxy = new LinkProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
    await proxy.listen();
  });

  afterEach(async () => {
    await proxy.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  it('relays, cuts open and new connections, and relays again after restore', async () => {
    expect(await roundTrip(proxy.port, 'hello')).toBe('hello');

    const open = connect(proxy.port, '127.0.0.1');
    await new Promise<void>((r) => open.once('connect', () => r()));
    open.write('x');
    await new Promise<void>((r) => open.once('data', () => r()));
    const broken = new Promise<string>((r) => {
      open.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
      open.on('close', () => r('closed'));
    });
    proxy.cut();
    expect(proxy.up).toBe(false);
    expect(await broken).toMatch(/ECONNRESET|closed/);
    expect(await roundTrip(proxy.port, 'again')).toMatch(/^error:|^closed$/);

    proxy.restore();
    expect(proxy.up).toBe(true);
    expect(await roundTrip(proxy.port, 'back')).toBe('back');
  });
  it('relays a large body intact, in order', async () => {
    const body = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
    const s = connect(proxy.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let length = 0;
    const done = new Promise<void>((resolve) =>
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        length += c.length;
        if (length >= body.length) resolve();
      }),
    );
    s.write(body);
    await done;
    s.destroy();
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });
});
