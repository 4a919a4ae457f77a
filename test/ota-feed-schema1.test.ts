import { beforeEach, describe, expect, it } from 'vitest';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import { canonicalJson, evaluateRelease, type SignedManifestEnvelope } from '@airpanel/contract/release';
import { Ed25519Verifier, type ReleaseKeyPair } from '@airpanel/panel/core/update/keys';
import { ReleaseFeedStore, bundleNameOf } from '@airpanel/backend/releases/index';
import * as ops from '@airpanel/release-tools/ops';
import { main as cliMain } from '@airpanel/release-tools/cli';
import { ReleaseLedger } from '@airpanel/release-tools/ledger';
import { generateReleaseKey, makeBundle, postSignedManifest, startFeed, writeKeyFile, type TestFeed } from './harness/ota/feed.js';
import { ADMIN_TOKEN, makeTempDir, useCleanups } from './harness/index.js';
import { endpointUrl, endpoints } from '@airpanel/contract/api';

const cleanups = useCleanups();

/**
 * A feed that stored releases before the manifest became schema 2 (no bundleDescriptorSha256,
 * one Electron minRuntimeVersion). Its index.json is written here as that feed wrote it; the
 * real store and plugin then run on it over HTTP.
 */

/** A schema-1 manifest signed as the release tool signed them then (canonical JSON, Ed25519). */
function signSchema1(key: ReleaseKeyPair, m: Record<string, unknown>): SignedManifestEnvelope {
  const signature = sign(null, Buffer.from(canonicalJson(m), 'utf8'), createPrivateKey(key.privateKeyPem)).toString('base64');
  return { manifest: m, signatures: [{ keyId: key.keyId, signature }] };
}

function schema1Manifest(counter: number, version: string, sha512: string, size: number): Record<string, unknown> {
  return {
    schema: 1,
    version,
    channel: 'stable',
    bundle: { url: `../../bundles/${bundleNameOf(sha512)}`, sha512, size },
    minRuntimeVersion: '45.0.0',
    counter,
    releasedAt: new Date(Date.now() - 86_400_000).toISOString(),
    expiresAt: new Date(Date.now() + 20 * 86_400_000).toISOString(),
    rolloutShare: 1,
  };
}

interface ListedRow {
  version?: unknown;
  counter?: unknown;
  schema?: unknown;
  servable: boolean;
  notServableReason: string | null;
  active: boolean;
  envelope: SignedManifestEnvelope;
}

describe('release feed with schema-1 releases stored by an older feed', () => {
  let tmp: { dir: string };
  let feed: TestFeed | undefined;
  let key: ReleaseKeyPair;
  let keyFile: string;
  let backendDir: string;
  let schema1: SignedManifestEnvelope;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-feed-schema1-') };
    key = generateReleaseKey();
    keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
    backendDir = join(tmp.dir, 'backend');
    const b = await makeBundle(tmp.dir, '1.0.0', 'export {};\n');
    schema1 = signSchema1(key, schema1Manifest(3, '1.0.0', b.sha512, b.size));
    const at = new Date().toISOString();
    await mkdir(join(backendDir, 'releases', 'bundles'), { recursive: true });
    await writeFile(
      join(backendDir, 'releases', 'index.json'),
      JSON.stringify({
        format: 'airpanel-release-feed/1',
        maxCounter: 3,
        releases: [
          { envelope: schema1, publishedAt: at },
          // A row no schema describes (hand-edited, or from a feed still older): listed, never a 500.
          { envelope: { manifest: { note: 'not a manifest' }, signatures: schema1.signatures }, publishedAt: at },
        ],
        channels: { stable: { activeCounter: 3, paused: false, updatedAt: at } },
      }),
    );
    feed = await startFeed(backendDir, cleanups);
  });

  it('lists the schema-1 row flagged not servable, serves it as stored, and current panels refuse it', async () => {
    const listing = await got.get(endpointUrl(feed!.url, endpoints.listReleases), {
      headers: { authorization: `Bearer ${feed!.client.token}` },
      throwHttpErrors: false,
    });
    expect(listing.statusCode).toBe(200);
    const l = JSON.parse(listing.body) as { maxCounter: number; releases: ListedRow[] };
    expect(l.maxCounter).toBe(3);
    expect(l.releases).toHaveLength(2);
    const [old, junk] = l.releases;
    expect(old).toMatchObject({ schema: 1, version: '1.0.0', counter: 3, servable: false, active: true });
    expect(old!.notServableReason).toMatch(/^schema 1: current panels refuse it/);
    expect(old!.envelope).toEqual(schema1);
    expect(junk).toMatchObject({ servable: false, active: false });
    expect(junk!.notServableReason).toMatch(/not a valid schema-2 manifest/);

    // The channel keeps serving what it stored; the panel is the judge, and says why it refuses.
    const served = await got.get(feed!.manifestUrl('stable'), { throwHttpErrors: false });
    expect(served.statusCode).toBe(200);
    expect(served.headers.etag).toBe('"m3"');
    expect(JSON.parse(served.body)).toEqual(schema1);
    const verdict = evaluateRelease(
      JSON.parse(served.body),
      new Ed25519Verifier([key]),
      {
        panelId: 'panel-1',
        channel: 'stable',
        runtime: { host: 'electron', version: '45.0.0' },
        runningVersion: '0.9.0',
        highestCounter: 0,
        refusedVersions: [],
        buildTimeMs: Date.now() - 86_400_000,
      },
      Date.now(),
    );
    expect(verdict).toMatchObject({ kind: 'reject', reason: 'invalid-manifest' });
  });

  it('takes a schema-2 release above it, serves that, and never takes a new schema-1 one', async () => {
    const b = await makeBundle(tmp.dir, '1.1.0', 'export const v = 1;\n');
    const up = await ops.uploadBundle(feed!.client, b.file);
    await postSignedManifest(feed!.client, up, { version: '1.1.0', counter: 4, keyFiles: [keyFile] });

    const l = await ops.list(feed!.client);
    expect(l.maxCounter).toBe(4);
    const rows = l.releases as unknown as ListedRow[];
    expect(rows.map((r) => [r.counter ?? null, r.servable, r.active])).toEqual([
      [3, false, false],
      [null, false, false],
      [4, true, true],
    ]);
    const served = await got.get(feed!.manifestUrl('stable')).json<SignedManifestEnvelope>();
    expect(served.manifest).toMatchObject({ schema: 2, version: '1.1.0', counter: 4 });

    const newSchema1 = signSchema1(key, schema1Manifest(5, '1.2.0', up.sha512, up.size));
    const refused = await got.post(endpointUrl(feed!.url, endpoints.publishRelease), {
      headers: { authorization: `Bearer ${feed!.client.token}` },
      json: newSchema1,
      throwHttpErrors: false,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('invalid-manifest');

    // What is on disk reads back the same after a restart of the backend.
    const reopened = new ReleaseFeedStore(backendDir);
    expect(reopened.releases().map((r) => reopened.viewOf(r).servable)).toEqual([false, false, true]);
    expect(reopened.served('stable')?.envelope.manifest).toMatchObject({ version: '1.1.0' });
  });

  describe('the release tool on such a feed', () => {
    /** Runs the CLI's list and returns what it printed. */
    async function cliList(): Promise<string> {
      const out: string[] = [];
      const orig = console.log;
      console.log = (...a: unknown[]) => void out.push(a.join(' '));
      try {
        expect(await cliMain(['list', '--server', feed!.url, '--token', ADMIN_TOKEN])).toBe(0);
      } finally {
        console.log = orig;
      }
      return out.join('\n');
    }

    it('a ledger written before schema 2 opens; the bundle published again as schema 2 can be promoted', async () => {
      // The ledger as the tool wrote it when it signed the schema-1 manifest (counter 3).
      const ledgerFile = join(tmp.dir, 'release-ledger.json');
      await writeFile(
        ledgerFile,
        JSON.stringify({
          format: 'airpanel-release-ledger/1',
          counter: 3,
          entries: [{ manifest: schema1.manifest, keyIds: [key.keyId], signedAt: new Date().toISOString() }],
        }),
        { mode: 0o600 },
      );
      const old = await ReleaseLedger.open(ledgerFile);
      expect(old.counter).toBe(3);
      expect(old.entries()).toEqual([]); // nothing in it can be re-signed

      // Migration as documented: publish the same version again (schema 2), then promote it.
      const b = await makeBundle(tmp.dir, '1.0.0', 'export {};\n');
      expect(
        await ops.publish(feed!.client, {
          bundleFile: b.file,
          channel: 'stable',
          version: '1.0.0',
          minRuntime: { electron: '45.0.0' },
          rolloutShare: 0.1,
          keyFiles: [keyFile],
        }),
      ).toMatchObject({ schema: 2, counter: 4 });
      expect(
        await ops.promote(feed!.client, { version: '1.0.0', channel: 'stable', rolloutShare: 0.5, keyFiles: [keyFile] }),
      ).toMatchObject({ schema: 2, version: '1.0.0', counter: 5, rolloutShare: 0.5 });
      // The schema-1 entry is still in the file (its counter was handed out).
      const written = JSON.parse(await readFile(ledgerFile, 'utf8')) as {
        counter: number;
        entries: Array<{ manifest: { schema: number; counter: number } }>;
      };
      expect(written.counter).toBe(5);
      expect(written.entries.map((e) => [e.manifest.schema, e.manifest.counter])).toEqual([
        [1, 3],
        [2, 4],
        [2, 5],
      ]);
      expect(await cliList()).toMatch(/#3 stable 1\.0\.0 NOT SERVABLE: schema 1: current panels refuse it/);
    });

    it('without a ledger: the schema-1 top counter is adopted (signature checked) and the next is above it; a schema-1 release alone is not re-signed', async () => {
      await expect(
        ops.promote(feed!.client, { version: '1.0.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] }),
      ).rejects.toThrow(/1\.0\.0 has only schema-1 manifests .*publish the bundle again/);
      const b = await makeBundle(tmp.dir, '1.1.0', 'export {};\n');
      expect(
        await ops.publish(feed!.client, {
          bundleFile: b.file,
          channel: 'stable',
          version: '1.1.0',
          minRuntime: { electron: '45.0.0' },
          rolloutShare: 1,
          keyFiles: [keyFile],
        }),
      ).toMatchObject({ counter: 4 });
      const ledger = await ReleaseLedger.open(join(tmp.dir, 'release-ledger.json'));
      expect(ledger.counter).toBe(4);
      expect(ledger.entries().map((e) => e.manifest.counter)).toEqual([4]);
      const list = await cliList();
      expect(list).toMatch(/channel stable: 1\.1\.0 \(counter 4/);
      expect(list).toMatch(/#\? \? \? NOT SERVABLE: not a valid schema-2 manifest/);
    });

    it('a schema-1 top row whose signature does not check out is not adopted', async () => {
      await feed!.close();
      const file = join(backendDir, 'releases', 'index.json');
      const index = JSON.parse(await readFile(file, 'utf8')) as { releases: Array<{ envelope: SignedManifestEnvelope }> };
      index.releases[0]!.envelope.manifest.rolloutShare = 0.5;
      await writeFile(file, JSON.stringify(index));
      feed = await startFeed(backendDir, cleanups);
      const b = await makeBundle(tmp.dir, '1.1.0', 'export {};\n');
      await expect(
        ops.publish(feed.client, {
          bundleFile: b.file,
          channel: 'stable',
          version: '1.1.0',
          minRuntime: { electron: '45.0.0' },
          rolloutShare: 1,
          keyFiles: [keyFile],
        }),
      ).rejects.toThrow(/#3: no valid signature by a trusted key/);
      expect((await ReleaseLedger.open(join(tmp.dir, 'release-ledger.json'))).counter).toBe(0);
    });
  });
});
