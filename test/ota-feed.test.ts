import { beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import got from 'got';
import { ReleaseFeedStore } from '@airpanel/backend/releases/index';
import * as ops from '@airpanel/release-tools/ops';
import { main as cliMain } from '@airpanel/release-tools/cli';
import { generateReleaseKey, makeBundle, postSignedManifest, startFeed, writeKeyFile, type TestFeed } from './harness/ota/feed.js';
import { ADMIN_TOKEN, makeTempDir, useCleanups } from './harness/index.js';
import { endpointUrl, endpoints } from '@airpanel/contract/api';

const cleanups = useCleanups();

describe('release feed (plugin) + release CLI operations, over real HTTP', () => {
  let tmp: { dir: string };
  let feed: TestFeed;
  let keyFile: string;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-feed-') };
    feed = await startFeed(join(tmp.dir, 'backend'), cleanups);
    keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), generateReleaseKey());
  });

  it('publishes with upload progress, serves the manifest, and lists it', async () => {
    const b = await makeBundle(tmp.dir, '1.0.0', 'export {};\n', 200_000);
    const progress: number[] = [];
    const m = await ops.publish(feed.client, {
      bundleFile: b.file,
      channel: 'stable',
      version: '1.0.0',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      rolloutShare: 0.1,
      keyFiles: [keyFile],
      onProgress: (s) => progress.push(s),
    });
    expect(m.counter).toBe(1);
    expect(progress.at(-1)).toBe(b.size);
    const served = await got.get(feed.manifestUrl('stable')).json<{ manifest: { version: string; counter: number } }>();
    expect(served.manifest).toMatchObject({ version: '1.0.0', counter: 1 });
    const l = await ops.list(feed.client);
    expect(l.maxCounter).toBe(1);
    expect(l.channels.stable?.activeCounter).toBe(1);
    // The store survives a restart of the backend.
    expect(new ReleaseFeedStore(join(tmp.dir, 'backend')).served('stable')?.envelope.manifest).toMatchObject({ version: '1.0.0' });
  });

  it('serves bundles with Range (206, suffix, 416)', async () => {
    const b = await makeBundle(tmp.dir, '1.0.0', 'export {};\n', 10_000);
    const up = await ops.uploadBundle(feed.client, b.file);
    const bundleUrl = new URL(up.url, feed.manifestUrl('stable')).toString();
    const full = await got.get(bundleUrl).buffer();
    expect(full.length).toBe(b.size);
    const part = await got.get(bundleUrl, { headers: { range: 'bytes=100-199' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${b.size}`);
    expect(part.rawBody.equals(full.subarray(100, 200))).toBe(true);
    const tail = await got.get(bundleUrl, { headers: { range: 'bytes=-10' } });
    expect(tail.rawBody.equals(full.subarray(b.size - 10))).toBe(true);
    const bad = await got.get(bundleUrl, { headers: { range: `bytes=${b.size}-` }, throwHttpErrors: false });
    expect(bad.statusCode).toBe(416);
  });

  it('refuses: no admin token, a bundle whose bytes differ from its sha512, a counter that does not grow', async () => {
    const b = await makeBundle(tmp.dir, '1.0.0', 'export {};\n');
    await expect(ops.list({ ...feed.client, token: 'wrong' })).rejects.toThrow(/401/);
    const name = `${Buffer.from(b.sha512, 'base64').toString('hex').slice(0, 64)}.tar.gz`;
    const r = await got.put(endpointUrl(feed.url, endpoints.uploadBundle, { name }), {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'x-bundle-sha512': b.sha512 },
      body: 'not the bundle',
      throwHttpErrors: false,
    });
    expect(r.statusCode).toBe(400);
    expect(r.body).toContain('checksum-mismatch');
    const up = await ops.uploadBundle(feed.client, b.file);
    const { manifest: m } = await postSignedManifest(feed.client, up, { version: '1.0.0', counter: 5, keyFiles: [keyFile] });
    const replay = await ops.signWithKeyFiles({ ...m, counter: 5 }, [keyFile]);
    await expect(ops.postManifest(feed.client, replay)).rejects.toThrow(/409/);
  });

  it('promote, pause, rollback: each a new signed manifest with the next counter', async () => {
    for (const v of ['1.0.0', '1.1.0']) {
      const b = await makeBundle(tmp.dir, v, `export const v = '${v}';\n`);
      await ops.publish(feed.client, {
        bundleFile: b.file,
        channel: 'stable',
        version: v,
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        rolloutShare: 0.1,
        keyFiles: [keyFile],
      });
    }
    const p = await ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 0.5, keyFiles: [keyFile] });
    expect(p).toMatchObject({ version: '1.1.0', counter: 3, rolloutShare: 0.5 });
    await ops.setPaused(feed.client, 'stable', true);
    const paused = await got.get(feed.manifestUrl('stable'), { throwHttpErrors: false });
    expect(paused.statusCode).toBe(404);
    expect(paused.body).toContain('channel-paused');
    await ops.setPaused(feed.client, 'stable', false);
    const rb = await ops.rollback(feed.client, { channel: 'stable', keyFiles: [keyFile] });
    expect(rb).toMatchObject({ version: '1.0.0', counter: 4, rolloutShare: 1 });
    const served = await got.get(feed.manifestUrl('stable')).json<{ manifest: { version: string } }>();
    expect(served.manifest.version).toBe('1.0.0');
    // beta → stable promotion of the same bundle.
    const beta = await ops.promote(feed.client, {
      version: '1.1.0',
      fromChannel: 'stable',
      channel: 'beta',
      rolloutShare: 1,
      keyFiles: [keyFile],
    });
    expect(beta.channel).toBe('beta');
  });

  it('records per-panel update reports', async () => {
    const report = { phase: 'committed', targetVersion: '1.1.0', progress: 1, detail: null, at: new Date().toISOString() };
    const r = await got.post(endpointUrl(feed.url, endpoints.reportUpdate, { panelId: 'panel-0001' }), {
      json: { panelId: 'panel-0001', runningVersion: '1.1.0', channel: 'stable', report },
    });
    expect(r.statusCode).toBe(204);
    const panels = (await ops.listPanels(feed.client)) as {
      panels: Array<{ panelId: string; runningVersion: string; lastUpdate: { phase: string } }>;
    };
    expect(panels.panels).toEqual([
      expect.objectContaining({
        panelId: 'panel-0001',
        runningVersion: '1.1.0',
        lastUpdate: expect.objectContaining({ phase: 'committed' }),
      }),
    ]);
  });

  it('CLI end to end: bundle, publish, list, promote, pause, rollback with flags', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const server = ['--server', feed.url, '--token', ADMIN_TOKEN];
    const out = (v: string) => join(tmp.dir, 'out', `airpanel-${v}.tar.gz`);
    for (const v of ['1.0.0', '1.1.0']) {
      const tree = join(tmp.dir, `cli-tree-${v}`);
      await mkdir(tree, { recursive: true });
      await writeFile(join(tree, 'main.js'), `console.log('${v}')\n`);
      expect(await cliMain(['bundle', '--version', v, '--in', tree, '--main', 'main.js', '--deps', 'none', '--out', out(v)])).toBe(0);
      expect(
        await cliMain(['publish', ...server, '--bundle', out(v), '--version', v, '--channel', 'beta', '--share', '20%', '--key', keyFile]),
      ).toBe(0);
    }
    expect(
      await cliMain([
        'promote',
        ...server,
        '--version',
        '1.1.0',
        '--from-channel',
        'beta',
        '--channel',
        'stable',
        '--share',
        '50%',
        '--key',
        keyFile,
      ]),
    ).toBe(0);
    expect(await cliMain(['pause', ...server, '--channel', 'stable'])).toBe(0);
    expect((await ops.list(feed.client)).channels.stable?.paused).toBe(true);
    expect(await cliMain(['pause', ...server, '--channel', 'stable', '--resume'])).toBe(0);
    expect(await cliMain(['rollback', ...server, '--channel', 'beta', '--key', keyFile])).toBe(0);
    expect(await cliMain(['list', ...server, '--panels'])).toBe(0);
    const l = await ops.list(feed.client);
    const active = (ch: string) => l.releases.find((r) => r.channel === ch && r.active);
    expect(active('beta')).toMatchObject({ version: '1.0.0', rolloutShare: 1, counter: 4 });
    expect(active('stable')).toMatchObject({ version: '1.1.0', rolloutShare: 0.5 });
    // Bad input: exit code 1 with a message, not a stack trace.
    expect(await cliMain(['promote', ...server, '--version', '9.9.9', '--share', '10%', '--key', keyFile])).toBe(1);
    expect(await cliMain(['publish', ...server, '--bundle', out('1.0.0'), '--version', '1.0.0', '--share', '150%', '--key', keyFile])).toBe(
      1,
    );
  });

  it('CLI: every command answers --help; keygen writes a 0600 key', async () => {
    for (const c of ['keygen', 'bundle', 'sign', 'publish', 'list', 'promote', 'pause', 'rollback']) {
      expect(await cliMain([c, '--help'])).toBe(0);
    }
    expect(await cliMain(['keygen', '--out', join(tmp.dir, 'keys', 'rm-1'), '--keyring', join(tmp.dir, 'trusted.json')])).toBe(0);
    const { stat, readFile } = await import('node:fs/promises');
    expect((await stat(join(tmp.dir, 'keys', 'rm-1.key'))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(tmp.dir, 'trusted.json'), 'utf8')).keys).toHaveLength(1);
    expect(await cliMain(['nope'])).toBe(2);
  });
});
