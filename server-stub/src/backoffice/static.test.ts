import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints } from '@airpanel/contract/api';
import { useTestBackend } from '../test-support.js';
import { BACKOFFICE_CSP, NOT_BUILT_TEXT } from './static.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with the path sent byte for byte as given (fetch would normalize `..` away). */
function rawGet(baseUrl: string, rawPath: string): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: rawPath, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const INDEX_HTML = '<!doctype html><title>backoffice test build</title><div id="app"></div>';

describe('the backoffice served at /', () => {
  let site: string;
  let outside: string;
  const fixture = useTestBackend({}, { per: 'suite' });

  beforeAll(async () => {
    site = mkdtempSync(path.join(tmpdir(), 'airpanel-backoffice-'));
    outside = mkdtempSync(path.join(tmpdir(), 'airpanel-outside-'));
    mkdirSync(path.join(site, 'assets'));
    writeFileSync(path.join(site, 'index.html'), INDEX_HTML);
    writeFileSync(path.join(site, 'assets', 'app-1234.js'), 'console.log("app");\n');
    writeFileSync(path.join(site, 'assets', 'app-1234.css'), 'body{}\n');
    writeFileSync(path.join(outside, 'secret.txt'), 'not for the web\n');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(site, 'assets', 'link.txt'));
    await fixture.start({ backofficeDir: site });
  });
  afterAll(() => {
    rmSync(site, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('serves index.html at / with the strict headers', async () => {
    const answer = await rawGet(fixture.backend.url, '/');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(INDEX_HTML);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(answer.headers['content-security-policy']);
    expect(csp).toBe(BACKOFFICE_CSP);
    for (const directive of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('http');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves the assets with their type, cached for good (their names carry their hash)', async () => {
    const js = await rawGet(fixture.backend.url, '/assets/app-1234.js');
    expect(js.status).toBe(200);
    expect(js.body).toBe('console.log("app");\n');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
    expect(js.headers['content-security-policy']).toBe(BACKOFFICE_CSP);
    const css = await rawGet(fixture.backend.url, '/assets/app-1234.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it("answers the app's routes with index.html (history-mode routing in the browser)", async () => {
    for (const route of ['/fleet', '/panels/p-1', '/audit?user=ops', '/users']) {
      const answer = await rawGet(fixture.backend.url, route);
      expect(answer.status, route).toBe(200);
      expect(answer.body, route).toBe(INDEX_HTML);
    }
  });

  it('keeps the API its own: unknown API paths are JSON 404s, known ones answer as before', async () => {
    const unknown = await rawGet(fixture.backend.url, '/api/v1/no-such-thing');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'no-route' } });
    expect(unknown.headers['content-type']).toContain('application/json');
    const health = await rawGet(fixture.backend.url, endpoints.getHealth.path);
    expect(health.status).toBe(200);
    expect(health.headers['content-security-policy']).toBeUndefined();
  });

  it('never reads outside the folder', async () => {
    const attempts = [
      '/../../../../etc/passwd',
      '/assets/../../index.html',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd.txt',
      '/assets/..%5c..%5cetc%5cpasswd.txt',
      '/assets/%00.js',
      '/assets/%E0%A4%A.js',
      '/assets/link.txt',
      '/assets/missing.js',
    ];
    for (const attempt of attempts) {
      const answer = await rawGet(fixture.backend.url, attempt);
      // A malformed escape is refused by the HTTP framework itself (400) before any route.
      expect([400, 404], attempt).toContain(answer.status);
      expect(answer.body, attempt).not.toContain('not for the web');
      expect(answer.body, attempt).not.toContain('root:');
    }
  });

  it('is not listed in the OpenAPI document', async () => {
    const answer = await rawGet(fixture.backend.url, endpoints.getOpenApi.path);
    const document = JSON.parse(answer.body) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths).filter((p) => !p.startsWith('/api/') && p !== '/metrics' && p !== '/healthz')).toEqual([]);
  });
});

describe('the backoffice before it is built', () => {
  const fixture = useTestBackend({}, { per: 'suite' });
  let empty: string;

  beforeAll(async () => {
    empty = mkdtempSync(path.join(tmpdir(), 'airpanel-backoffice-empty-'));
    await fixture.start({ backofficeDir: path.join(empty, 'dist') });
  });
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it('says at / how to build it', async () => {
    const answer = await rawGet(fixture.backend.url, '/');
    expect(answer.status).toBe(503);
    expect(answer.body).toBe(NOT_BUILT_TEXT);
    expect(answer.body).toContain('npm run build:backoffice');
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
  });
});
