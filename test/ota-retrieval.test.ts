import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GotOtaHttpClient,
  readBundleDescriptor,
  releaseLayout,
  signManifest,
  type OtaUpdaterOptions,
} from '@airpanel/panel/core/update/index';
import { generateReleaseKey, makeBundle } from './harness/ota/feed.js';
import { makeTempDir } from './harness/index.js';
import { testUpdater } from './harness/ota/updater.js';
import { cleanups, key, scriptedServer, trickle, signed, type Scripted } from './ota-retrieval.test-support.js';

describe('OTA retrieval limits, rollback floor and credentials (real servers on 127.0.0.1)', () => {
  let tmp: { dir: string };
  let srv: Scripted;
  let dataDir: string;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-ota-retrieval-') };
    srv = await scriptedServer();
    dataDir = join(tmp.dir, 'panel');
    await mkdir(dataDir);
  });
  afterEach(async () => {
    await srv.close();
  });

  const updater = (over: Partial<OtaUpdaterOptions> = {}) =>
    testUpdater({
      dataDir,
      manifestUrl: `${srv.url}/manifest`,
      trusted: [key],
      buildTimeMs: 0,
      options: {
        http: new GotOtaHttpClient({ timeoutMs: 10_000 }),
        manifestLimits: { maxBytes: 64 * 1024, deadlineMs: 1500, minBytesPerSecond: 50, rateWindowMs: 500 },
        downloadLimits: { minBytesPerSecond: 2000, rateWindowMs: 500, baseDeadlineMs: 1000 },
        ...over,
      },
    });

  it('a trickling manifest server (one byte every 50 ms) fails the check within the limits; the next check is not blocked', async () => {
    const body = Buffer.from(JSON.stringify(signed('2.0.0', 3, { url: 'b.tar.gz', sha512: `${'A'.repeat(86)}==`, size: 10 })));
    srv.routes.set('/manifest', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      trickle(res, body.subarray(0, 1), body.subarray(1), 50);
    });
    const u = updater();
    const t0 = Date.now();
    await expect(u.checkNow()).rejects.toThrow(/manifest: too-slow/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(u.getReport()).toMatchObject({ phase: 'failed' });
    srv.routes.delete('/manifest');
    expect(await u.checkNow()).toMatch(/no release/);
  });

  it('a server that accepts and never answers fails the check at the overall deadline', async () => {
    srv.routes.set('/manifest', () => undefined);
    const u = updater({ manifestLimits: { maxBytes: 64 * 1024, deadlineMs: 800, minBytesPerSecond: 0, rateWindowMs: 60_000 } });
    const t0 = Date.now();
    await expect(u.checkNow()).rejects.toThrow(/manifest: deadline/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('an endless manifest body is cut at the 64 KiB cap', async () => {
    let sent = 0;
    srv.routes.set('/manifest', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        for (let more = true; more && !res.destroyed; sent += chunk.length) more = res.write(chunk);
        if (!res.destroyed) res.once('drain', pump);
      };
      res.write('{"manifest":');
      pump();
    });
    const u = updater({ manifestLimits: { maxBytes: 64 * 1024, deadlineMs: 10_000, minBytesPerSecond: 50, rateWindowMs: 5000 } });
    await expect(u.checkNow()).rejects.toThrow(/manifest: too-large/);
    expect(sent).toBeGreaterThan(64 * 1024);
  });

  it('a manifest announcing more than the cap is refused before its body is read', async () => {
    srv.routes.set('/manifest', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
      res.write('{');
    });
    await expect(updater().checkNow()).rejects.toThrow(/manifest: too-large: announces 10485760 bytes/);
  });

  it('a trickling bundle host fails the download (partial kept), and the next check resumes and installs', async () => {
    const b = await makeBundle(tmp.dir, '2.0.0', 'export {};\n', 40_000);
    const bytes = await readFile(b.file);
    const descriptor = (await readBundleDescriptor(b.file)).sha256;
    srv.routes.set('/manifest', (_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(signed('2.0.0', 3, { url: 'bundle.tar.gz', sha512: b.sha512, size: b.size }, { descriptor }))),
    );
    let slow = true;
    srv.routes.set('/bundle.tar.gz', (req, res) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const rest = bytes.subarray(start);
      res.writeHead(m ? 206 : 200, {
        'content-length': String(rest.length),
        ...(m ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
      });
      if (slow) trickle(res, rest.subarray(0, 5000), rest.subarray(5000), 50);
      else res.end(rest);
    });
    const u = updater();
    const t0 = Date.now();
    await expect(u.checkNow()).rejects.toThrow(/download too-slow/);
    expect(Date.now() - t0).toBeLessThan(5000);
    const part = join(releaseLayout(dataDir).downloadDir, '2.0.0.tar.gz.part');
    expect((await stat(part)).size).toBeGreaterThanOrEqual(5000);
    slow = false;
    expect(await u.checkNow()).toMatch(/2\.0\.0 installed/);
    expect(srv.seen.filter((s) => s.path === '/bundle.tar.gz').at(-1)?.range).toMatch(/^bytes=\d{4,}-$/);
  });

  it('an endless bundle body is cut at the size the manifest signs, and the partial file deleted', async () => {
    const b = await makeBundle(tmp.dir, '2.0.0', 'export {};\n', 10_000);
    srv.routes.set('/manifest', (_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(signed('2.0.0', 3, { url: 'bundle.tar.gz', sha512: b.sha512, size: b.size }))),
    );
    srv.routes.set('/bundle.tar.gz', (_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(8192, 7);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    await expect(updater().checkNow()).rejects.toThrow(/download too-large/);
    expect(existsSync(join(releaseLayout(dataDir).downloadDir, '2.0.0.tar.gz.part'))).toBe(false);
  });

  it("the API key goes to the manifest's origin only: never to a bundle on another host, nor through a redirect", async () => {
    const other = await scriptedServer();
    try {
      const b = await makeBundle(tmp.dir, '2.0.0', 'export {};\n', 1000);
      const bytes = await readFile(b.file);
      const descriptorOf = new Map([['2.0.0', (await readBundleDescriptor(b.file)).sha256]]);
      other.routes.set('/bundle.tar.gz', (_req, res) => res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes));
      srv.routes.set('/manifest', (_req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify(
              signed(
                '2.0.0',
                3,
                { url: `${other.url}/bundle.tar.gz`, sha512: b.sha512, size: b.size },
                { descriptor: descriptorOf.get('2.0.0') },
              ),
            ),
          ),
      );
      const credentials = { origin: srv.url, headers: { authorization: 'Bearer panel-secret-key' } };
      const u = updater({ http: new GotOtaHttpClient({ credentials }) });
      expect(await u.checkNow()).toMatch(/2\.0\.0 installed/);
      expect(srv.seen.find((s) => s.path === '/manifest')?.authorization).toBe('Bearer panel-secret-key');
      expect(other.seen.map((s) => s.path)).toEqual(['/bundle.tar.gz']);
      expect(other.seen[0]?.authorization).toBeUndefined();

      // Same host name and scheme, other port: another origin, also across a redirect.
      const b3 = await makeBundle(tmp.dir, '3.0.0', 'export {};\n', 1000);
      const bytes3 = await readFile(b3.file);
      descriptorOf.set('3.0.0', (await readBundleDescriptor(b3.file)).sha256);
      other.routes.set('/bundle3.tar.gz', (_req, res) => res.writeHead(200, { 'content-length': String(bytes3.length) }).end(bytes3));
      srv.routes.set('/redirect3', (_req, res) => res.writeHead(302, { location: `${other.url}/bundle3.tar.gz` }).end());
      srv.routes.set('/manifest', (_req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify(
              signed('3.0.0', 4, { url: 'redirect3', sha512: b3.sha512, size: b3.size }, { descriptor: descriptorOf.get('3.0.0') }),
            ),
          ),
      );
      const u3 = updater({
        http: new GotOtaHttpClient({ credentials: { origin: srv.url, headers: { 'x-panel-key': 'panel-secret-key' } } }),
        runningVersion: '2.0.0',
      });
      expect(await u3.checkNow()).toMatch(/3\.0\.0 installed/);
      expect(srv.seen.find((s) => s.path === '/redirect3')).toBeDefined();
      const hop = other.seen.find((s) => s.path === '/bundle3.tar.gz');
      expect(hop).toBeDefined();
      expect(JSON.stringify(other.seen)).not.toContain('panel-secret-key');
    } finally {
      await other.close();
    }
  });

  it('a panel that sees no valid manifest for days says so in its report; a valid one clears it', async () => {
    let now = Date.parse('2026-06-01T00:00:00Z');
    const u = updater({ wallClock: { now: () => now }, feedSilenceAlertMs: 3 * 86_400_000 });
    expect(await u.checkNow()).toMatch(/no release/);
    expect(u.getReport().noValidManifestSince).toBeNull();
    now += 4 * 86_400_000;
    expect(await u.checkNow()).toMatch(/no release/);
    expect(u.getReport().noValidManifestSince).toBe('2026-06-01T00:00:00.000Z');
    // An invalid manifest (wrong key) does not count as seen.
    const stranger = generateReleaseKey();
    srv.routes.set('/manifest', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify(
          signManifest(
            {
              schema: 2,
              version: '1.0.0',
              channel: 'stable',
              bundle: { url: 'b', sha512: `${'A'.repeat(86)}==`, size: 1 },
              bundleDescriptorSha256: 'b'.repeat(64),
              minRuntime: { electron: '45.0.0', node: '20.0.0' },
              counter: 3,
              releasedAt: new Date(now - 60_000).toISOString(),
              expiresAt: new Date(now + 86_400_000).toISOString(),
              rolloutShare: 1,
            },
            [stranger.privateKeyPem],
          ),
        ),
      ),
    );
    await expect(u.checkNow()).rejects.toThrow(/unknown-key/);
    expect(u.getReport().noValidManifestSince).toBe('2026-06-01T00:00:00.000Z');
    srv.routes.set('/manifest', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify(
          signed(
            '1.0.0',
            3,
            { url: 'b', sha512: `${'A'.repeat(86)}==`, size: 1 },
            {
              releasedAt: new Date(now - 60_000).toISOString(),
              expiresAt: new Date(now + 86_400_000).toISOString(),
            },
          ),
        ),
      ),
    );
    expect(await u.checkNow()).toMatch(/up to date/);
    expect(u.getReport().noValidManifestSince).toBeNull();
  });
});
