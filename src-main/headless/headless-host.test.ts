import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BridgeServerMessage, type FramePresented, type PanelView, type RendererErrorReport } from '@airpanel/contract/internal';
import type { PanelViewSource } from '../core/host.js';
import { BRIDGE_CLOSE_POLICY, BRIDGE_CLOSE_RELOAD } from './bridge-server.js';
import { HeadlessHost, type AttachedPage } from './headless-host.js';

/** Test implementation of the core's host-facing side: records what the host hands it. */
class RecordingViewSource implements PanelViewSource {
  view: PanelView = { kind: 'booting' };
  frames: FramePresented[] = [];
  errors: RendererErrorReport[] = [];
  faults: { code: string; detail: string }[] = [];
  private listeners = new Set<(v: PanelView) => void>();
  getView(): PanelView {
    return this.view;
  }
  onView(l: (v: PanelView) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  framePresented(f: FramePresented): void {
    this.frames.push(f);
  }
  rendererError(r: RendererErrorReport): void {
    this.errors.push(r);
  }
  hostFault(code: string, detail: string): void {
    this.faults.push({ code, detail });
  }
  set(v: PanelView): void {
    this.view = v;
    for (const l of this.listeners) l(v);
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Raw HTTP (no URL normalisation by a client library), so traversal attempts reach the server as sent. */
function rawGet(base: string, path: string, method = 'GET'): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket client that queues what it receives. */
async function connect(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const inbox: BridgeServerMessage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    inbox.push(BridgeServerMessage.parse(JSON.parse(String(d))));
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (): Promise<BridgeServerMessage> => {
    while (inbox.length === 0) await new Promise<void>((r) => waiters.push(r));
    return inbox.shift()!;
  };
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  return { ws, next, closed };
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
};

describe('HeadlessHost', () => {
  let dir: string;
  let source: RecordingViewSource;
  let host: HeadlessHost;
  let restarts: number;
  let base: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-headless-'));
    const site = join(dir, 'site');
    await mkdir(join(site, 'assets'), { recursive: true });
    await writeFile(join(site, 'index.html'), '<!doctype html><title>panel</title>');
    await writeFile(join(site, 'assets', 'app-1234.js'), 'console.log(1)');
    await writeFile(join(dir, 'secret.txt'), 'outside the site');
    source = new RecordingViewSource();
    restarts = 0;
    host = new HeadlessHost({
      rendererDir: site,
      restart: async () => {
        restarts++;
      },
    });
    base = await host.listen(source);
  });

  afterEach(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the renderer with a strict CSP on 127.0.0.1', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const index = await rawGet(base, '/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>panel</title>');
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("default-src 'none'");
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    const js = await rawGet(base, '/assets/app-1234.js?v=1');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
  });

  it('serves only known files, only to GET and HEAD', async () => {
    for (const path of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '//etc/passwd',
      '/secret.txt',
      '/assets/',
      '/index.html%00.js',
    ]) {
      const a = await rawGet(base, path);
      expect(a.status, path).toBe(404);
      expect(a.body).not.toContain('outside the site');
    }
    expect((await rawGet(base, '/index.html', 'HEAD')).status).toBe(200);
    const post = await rawGet(base, '/index.html', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('sends the current view on connect and every new view after', async () => {
    const c = await connect(`${base.replace('http', 'ws')}/bridge`);
    expect(await c.next()).toEqual({ type: 'view', view: { kind: 'booting' } });
    source.set({ kind: 'maintenance', code: 'CFG-1' });
    expect(await c.next()).toEqual({ type: 'view', view: { kind: 'maintenance', code: 'CFG-1' } });
    c.ws.close();
  });

  it('passes valid renderer messages to the core and drops invalid ones', async () => {
    const c = await connect(`${base.replace('http', 'ws')}/bridge`);
    await c.next();
    c.ws.send(JSON.stringify({ type: 'frame-presented', frame: { kind: 'booting', revision: null } }));
    c.ws.send(JSON.stringify({ type: 'renderer-error', report: { message: 'x'.repeat(5000) } }));
    c.ws.send('not json');
    c.ws.send(JSON.stringify({ type: 'frame-presented', frame: { kind: 'booting', revision: -1 } }));
    c.ws.send(JSON.stringify({ type: 'renderer-error', report: { message: 'boom' } }));
    await until(() => source.errors.length === 1);
    expect(source.frames).toEqual([{ kind: 'booting', revision: null }]);
    expect(source.errors).toEqual([{ message: 'boom' }]);
    c.ws.close();
  });

  it('closes a connection that keeps sending garbage', async () => {
    const c = await connect(`${base.replace('http', 'ws')}/bridge`);
    for (let i = 0; i < 10; i++) c.ws.send('{"type":"hello"}');
    expect(await c.closed).toBe(BRIDGE_CLOSE_POLICY);
    expect(source.frames).toEqual([]);
  });

  it('refuses a WebSocket from a foreign origin and unknown upgrade paths', async () => {
    const ws = `${base.replace('http', 'ws')}`;
    await expect(connect(`${ws}/bridge`, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(connect(`${ws}/other`)).rejects.toThrow(/404/);
    const ok = await connect(`${ws}/bridge`, { origin: base });
    expect((await ok.next()).type).toBe('view');
    ok.ws.close();
  });

  it('swaps the core behind the bridge (restart by re-creating the core)', async () => {
    const c = await connect(`${base.replace('http', 'ws')}/bridge`);
    await c.next();
    const second = new RecordingViewSource();
    second.view = { kind: 'maintenance', code: 'RND-1' };
    host.setSource(second);
    expect(await c.next()).toEqual({ type: 'view', view: { kind: 'maintenance', code: 'RND-1' } });
    source.set({ kind: 'booting' }); // the old core no longer reaches the renderer
    second.set({ kind: 'maintenance', code: 'GPU-1' });
    expect(await c.next()).toEqual({ type: 'view', view: { kind: 'maintenance', code: 'GPU-1' } });
    c.ws.send(JSON.stringify({ type: 'frame-presented', frame: { kind: 'maintenance', revision: null } }));
    await until(() => second.frames.length === 1);
    expect(source.frames).toEqual([]);
    c.ws.close();
  });

  it('carries out reload, restart and screenshot', async () => {
    const c = await connect(`${base.replace('http', 'ws')}/bridge`);
    await c.next();
    await host.actions.reloadRenderer();
    expect(await c.closed).toBe(BRIDGE_CLOSE_RELOAD);
    expect(await host.actions.captureScreenshot()).toBeNull();

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    let reloads = 0;
    /** Test implementation of a browser page. */
    const testPage: AttachedPage = {
      screenshot: async () => png,
      reload: async () => {
        reloads++;
      },
    };
    host.attachPage(testPage);
    expect(await host.actions.captureScreenshot()).toBe(png);
    await host.actions.reloadRenderer();
    expect(reloads).toBe(1);
    await host.actions.restartApp();
    expect(restarts).toBe(1);
  });
});

describe('HeadlessHost with a bridge token (the kiosk host)', () => {
  let dir: string;
  let host: HeadlessHost;
  let base: string;
  const token = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-headless-token-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>panel</title>');
    host = new HeadlessHost({ rendererDir: dir, bridgeToken: token });
    base = await host.listen(new RecordingViewSource());
  });

  afterEach(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The HTTP status of a WebSocket upgrade (101 when accepted). */
  const upgrade = (url: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => resolve(-1));
    });

  it('accepts only upgrades carrying the token, from the same origin', async () => {
    const ws = base.replace('http', 'ws');
    expect(await upgrade(`${ws}/bridge`)).toBe(403);
    expect(await upgrade(`${ws}/bridge?token=wrong`)).toBe(403);
    expect(await upgrade(`${ws}/bridge?token=${token.slice(0, -1)}X`)).toBe(403);
    expect(await upgrade(`${ws}/bridge?token=${token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(`${ws}/bridge?token=${token}`, { origin: base })).toBe(101);
    const client = await connect(`${ws}/bridge?token=${token}`);
    expect((await client.next()).type).toBe('view');
    client.ws.close();
  });

  it('still serves the page itself without a token (the token travels in its URL fragment)', async () => {
    expect((await rawGet(base, '/')).status).toBe(200);
  });
});
