import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CdpConnection, pipeTransport } from './cdp-connection.js';

/** Stand-in browser end of --remote-debugging-pipe: two streams, NUL-separated JSON. */
function standInBrowserPipe() {
  const toBrowser = new PassThrough();
  const fromBrowser = new PassThrough();
  const received: Record<string, unknown>[] = [];
  let buf = '';
  toBrowser.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let i = buf.indexOf('\0'); i !== -1; i = buf.indexOf('\0')) {
      received.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  const write = (text: string) => fromBrowser.write(text);
  return { toBrowser, fromBrowser, received, write };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CdpConnection over the pipe transport', () => {
  it('sends NUL-terminated commands with ids and session ids, and matches answers split across chunks', async () => {
    const b = standInBrowserPipe();
    const conn = new CdpConnection(pipeTransport(b.toBrowser, b.fromBrowser), 1_000);
    const answer = conn.send('Runtime.evaluate', { expression: '1 + 1' }, 'S1');
    await tick();
    expect(b.received).toEqual([{ id: 1, method: 'Runtime.evaluate', params: { expression: '1 + 1' }, sessionId: 'S1' }]);
    const text = JSON.stringify({ id: 1, result: { result: { type: 'number', value: 2 } }, sessionId: 'S1' });
    b.write(text.slice(0, 10));
    b.write(`${text.slice(10)}\0`);
    expect(await answer).toEqual({ result: { type: 'number', value: 2 } });
  });

  it('delivers events, drops malformed messages, and rejects errors with the command named', async () => {
    const b = standInBrowserPipe();
    const conn = new CdpConnection(pipeTransport(b.toBrowser, b.fromBrowser), 1_000);
    const events: [string, string | undefined][] = [];
    conn.onEvent((m, _p, s) => events.push([m, s]));
    const failing = conn.send('Page.navigate', { url: 'x' });
    b.write(
      `not json\0${JSON.stringify({ id: 'one' })}\0${JSON.stringify({ method: 'Inspector.targetCrashed', params: {}, sessionId: 'S2' })}\0`,
    );
    b.write(`${JSON.stringify({ id: 1, error: { code: -32000, message: 'Cannot navigate' } })}\0`);
    await expect(failing).rejects.toThrow('DevTools Page.navigate: Cannot navigate');
    expect(events).toEqual([['Inspector.targetCrashed', 'S2']]);
  });

  it('times out a command the browser never answers', async () => {
    const b = standInBrowserPipe();
    const conn = new CdpConnection(pipeTransport(b.toBrowser, b.fromBrowser), 1_000);
    await expect(conn.send('Runtime.evaluate', {}, undefined, 50)).rejects.toThrow('no answer within 50 ms');
  });

  it('fails pending commands when the pipe ends, and refuses new ones', async () => {
    const b = standInBrowserPipe();
    const conn = new CdpConnection(pipeTransport(b.toBrowser, b.fromBrowser), 1_000);
    const pending = conn.send('Page.reload');
    b.fromBrowser.end();
    await expect(pending).rejects.toThrow(/connection closed \(pipe ended\)/);
    expect(conn.closed).toBe(true);
    await expect(conn.send('Page.reload')).rejects.toThrow(/connection closed/);
  });

  it('ends the transport on a message over the size cap', async () => {
    const b = standInBrowserPipe();
    const conn = new CdpConnection(pipeTransport(b.toBrowser, b.fromBrowser, 1_000), 1_000);
    const pending = conn.send('Page.captureScreenshot');
    b.write('x'.repeat(600));
    b.write('x'.repeat(600));
    await expect(pending).rejects.toThrow(/message over 1000 bytes/);
  });
});
