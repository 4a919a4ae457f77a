import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readImageReleaseFloor } from '@airpanel/panel/core/update/index';
import { ReleaseLedger } from '@airpanel/release-tools/ledger';
import * as ops from '@airpanel/release-tools/ops';
import { main as cliMain } from '@airpanel/release-tools/cli';
import { generateReleaseKey, makeBundle, postSignedManifest, startFeed, writeKeyFile, type TestFeed } from './harness/ota/feed.js';
import { ADMIN_TOKEN, makeTempDir, useCleanups } from './harness/index.js';

const cleanups = useCleanups();

/**
 * The release tool against a backend that lies (issue 11 §2): the real release feed, whose
 * stored rows (`<backend>/releases/index.json`, and a bundle file) are altered between
 * restarts, as a compromised backend would. `promote` and `rollback` must re-sign nothing of
 * it, and counters come from the release manager's ledger, never from the feed.
 */
interface Stored {
  maxCounter: number;
  releases: Array<{
    envelope: {
      manifest: Record<string, unknown> & { version: string; counter: number; bundle: { url: string; sha512: string; size: number } };
    };
  }>;
}

describe('release tool: does not trust the backend', () => {
  let tmp: { dir: string };
  let feed: TestFeed;
  let backendDir: string;
  let keyFile: string;
  let ledgerFile: string;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-release-trust-') };
    backendDir = join(tmp.dir, 'backend');
    feed = await startFeed(backendDir, cleanups);
    await mkdir(join(tmp.dir, 'keys'));
    keyFile = await writeKeyFile(join(tmp.dir, 'keys', 'release.key'), generateReleaseKey());
    ledgerFile = join(tmp.dir, 'keys', 'release-ledger.json');
  });

  /** Stops the backend, lets `edit` change its stored rows, starts it again on the same data. */
  async function alterBackend(edit: (index: Stored) => void): Promise<void> {
    await feed.close();
    const file = join(backendDir, 'releases', 'index.json');
    const index = JSON.parse(await readFile(file, 'utf8')) as Stored;
    edit(index);
    await writeFile(file, JSON.stringify(index));
    feed = await startFeed(backendDir, cleanups);
  }

  async function publishTwo() {
    const b1 = await makeBundle(tmp.dir, '1.0.0', "export const v = '1.0.0';\n", 5000);
    const b2 = await makeBundle(tmp.dir, '1.1.0', "export const v = '1.1.0';\n", 5000);
    for (const [b, v] of [
      [b1, '1.0.0'],
      [b2, '1.1.0'],
    ] as const) {
      await ops.publish(feed.client, {
        bundleFile: b.file,
        channel: 'stable',
        version: v,
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        rolloutShare: 0.1,
        keyFiles: [keyFile],
      });
    }
    return { b1, b2 };
  }

  const release = (index: Stored, version: string) =>
    index.releases.find((r) => r.envelope.manifest.version === version)!.envelope.manifest;
  const nothingSigned = async (ledgerCounter: number, feedMax: number) => {
    expect((await ReleaseLedger.open(ledgerFile)).counter).toBe(ledgerCounter);
    expect((await ops.list(feed.client)).maxCounter).toBe(feedMax);
  };

  it('an honest backend: counters come from the ledger beside the keys, promote and rollback re-sign what was signed', async () => {
    const { b1 } = await publishTwo();
    const ledger = await ReleaseLedger.open(ledgerFile);
    expect(ledger.counter).toBe(2);
    expect(ledger.entries().map((e) => [e.manifest.version, e.manifest.counter])).toEqual([
      ['1.0.0', 1],
      ['1.1.0', 2],
    ]);
    expect(await ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 0.5, keyFiles: [keyFile] })).toMatchObject({
      counter: 3,
      rolloutShare: 0.5,
    });
    const rb = await ops.rollback(feed.client, { channel: 'stable', keyFiles: [keyFile] });
    expect(rb).toMatchObject({ version: '1.0.0', counter: 4, bundle: { sha512: b1.sha512, size: b1.size } });
    await nothingSigned(4, 4);
  });

  it('a changed sha512 (pointing 1.1.0 at another uploaded bundle) is refused: no valid signature', async () => {
    await publishTwo();
    const evil = await makeBundle(tmp.dir, '6.6.6', 'export const evil = true;\n', 5000);
    const up = await ops.uploadBundle(feed.client, evil.file);
    await alterBackend((index) => {
      release(index, '1.1.0').bundle = { url: up.url, sha512: up.sha512, size: up.size };
    });
    await expect(ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).rejects.toThrow(
      /no valid signature by a trusted key/,
    );
    await nothingSigned(2, 2);
  });

  it('a changed URL only is refused: no valid signature', async () => {
    await publishTwo();
    await alterBackend((index) => {
      release(index, '1.1.0').bundle.url = 'https://mirror.invalid/bundles/x.tar.gz';
    });
    await expect(ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).rejects.toThrow(
      /no valid signature/,
    );
    await nothingSigned(2, 2);
  });

  it('a rollback target altered on the backend is refused; the ledger, not the feed, says what the channel had', async () => {
    await publishTwo();
    await alterBackend((index) => {
      release(index, '1.0.0').bundle.size += 1;
    });
    await expect(ops.rollback(feed.client, { channel: 'stable', keyFiles: [keyFile] })).rejects.toThrow(/release #1 .*no valid signature/);
    await nothingSigned(2, 2);
    // The backend dropping 1.0.0 from its rows does not hide it: the ledger still has it.
    await alterBackend((index) => {
      index.releases = index.releases.filter((r) => r.envelope.manifest.version !== '1.0.0');
    });
    expect(await ops.rollback(feed.client, { channel: 'stable', keyFiles: [keyFile] })).toMatchObject({ version: '1.0.0', counter: 3 });
  });

  it('the bundle bytes swapped on the backend (manifest intact): the download is hashed, nothing re-signed', async () => {
    const { b2 } = await publishTwo();
    const name = `${Buffer.from(b2.sha512, 'base64').toString('hex').slice(0, 64)}.tar.gz`;
    await feed.close();
    const bytes = await readFile(join(backendDir, 'releases', 'bundles', name));
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    await writeFile(join(backendDir, 'releases', 'bundles', name), bytes);
    feed = await startFeed(backendDir, cleanups);
    await expect(ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).rejects.toThrow(
      /does not match the signed sha512/,
    );
    await nothingSigned(2, 2);
  });

  it('a huge counter claimed by the backend is not followed (no fast-forward to MAX_SAFE_INTEGER)', async () => {
    await publishTwo();
    await alterBackend((index) => {
      index.maxCounter = Number.MAX_SAFE_INTEGER - 1;
    });
    await expect(ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).rejects.toThrow(
      /claims counter 9007199254740990.*not followed/i,
    );
    const b3 = await makeBundle(tmp.dir, '1.2.0', 'export {};\n');
    await expect(
      ops.publish(feed.client, {
        bundleFile: b3.file,
        channel: 'stable',
        version: '1.2.0',
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        rolloutShare: 1,
        keyFiles: [keyFile],
      }),
    ).rejects.toThrow(/not followed/i);
    expect((await ReleaseLedger.open(ledgerFile)).counter).toBe(2);
    expect(Math.max(...(await ops.list(feed.client)).releases.map((r) => r.counter))).toBe(2);
  });

  it('a counter signed elsewhere (offline `sign`, small step, valid signature) is adopted; one without a valid signature is not', async () => {
    await publishTwo();
    const b = await makeBundle(tmp.dir, '1.2.0', 'export {};\n');
    const up = await ops.uploadBundle(feed.client, b.file);
    // Signed on another machine (not in this ledger) with a trusted key, posted by hand.
    await postSignedManifest(feed.client, up, { version: '1.2.0', channel: 'beta', counter: 7, keyFiles: [keyFile] });
    expect(await ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).toMatchObject({
      counter: 8,
    });
    expect((await ReleaseLedger.open(ledgerFile)).entries().find((e) => e.manifest.counter === 7)).toMatchObject({ adopted: true });

    await alterBackend((index) => {
      index.maxCounter = 20;
      const forged = structuredClone(index.releases.at(-1)!);
      forged.envelope.manifest.counter = 20;
      index.releases.push(forged);
    });
    await expect(ops.promote(feed.client, { version: '1.1.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).rejects.toThrow(
      /#20.*no valid signature/,
    );
    expect((await ReleaseLedger.open(ledgerFile)).counter).toBe(8);
  });

  it("CLI: sign takes the ledger's next counter and refuses a jump; floor writes the image's release floor from the ledger", async () => {
    const { b1 } = await publishTwo();
    const log: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void log.push(a.join(' '));
    try {
      expect(await cliMain(['sign', '--bundle', b1.file, '--version', '1.0.0', '--key', keyFile])).toBe(0);
      expect(JSON.parse(log.join('\n'))).toMatchObject({ manifest: { counter: 3 } });
      expect(
        await cliMain(['sign', '--bundle', b1.file, '--version', '1.0.0', '--key', keyFile, '--counter', String(Number.MAX_SAFE_INTEGER)]),
      ).toBe(1);
      expect(await cliMain(['sign', '--bundle', b1.file, '--version', '1.0.0', '--key', keyFile, '--counter', '3'])).toBe(1);
      const out = join(tmp.dir, 'root', 'release-floor.json');
      await mkdir(join(tmp.dir, 'root'));
      expect(await cliMain(['floor', '--key', keyFile, '--factory-version', '1.1.0', '--out', out])).toBe(0);
      expect(readImageReleaseFloor(out)).toEqual({ format: 'airpanel-release-floor/1', counterFloor: 3, factoryVersion: '1.1.0' });
      expect(
        await cliMain([
          'promote',
          '--server',
          feed.url,
          '--token',
          ADMIN_TOKEN,
          '--version',
          '1.1.0',
          '--share',
          '20%',
          '--key',
          keyFile,
          '--ledger',
          ledgerFile,
        ]),
      ).toBe(0);
    } finally {
      console.log = orig;
    }
    expect((await ReleaseLedger.open(ledgerFile)).counter).toBe(4);
  });
});
