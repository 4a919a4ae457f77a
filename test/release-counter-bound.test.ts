import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_COUNTER_JUMP, ReleaseLedger } from '@airpanel/release-tools/ledger';
import * as ops from '@airpanel/release-tools/ops';
import { generateReleaseKey, makeBundle, postSignedManifest, startFeed, writeKeyFile, type TestFeed } from './harness/ota/feed.js';
import { makeTempDir, useCleanups } from './harness/index.js';

const cleanups = useCleanups();

/**
 * Fast-forward through the release tool: a manifest that is validly signed by a trusted key
 * (signed on another machine, or with a leaked key) but carries a counter far above the ledger's.
 * The signature checks out, so only the bound on the step (MAX_COUNTER_JUMP, checked when the
 * feed's counter is reconciled and again when the ledger records) keeps the tool from adopting
 * it and signing above it, which would push every panel's high-water mark that far.
 * (test/release-trust.test.ts covers a huge counter the feed claims without a signed manifest.)
 */
describe('release tool: a validly signed counter far above the ledger is not followed', () => {
  let tmp: { dir: string };
  let feed: TestFeed;
  let keyFile: string;
  let ledgerFile: string;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-release-counter-bound-') };
    feed = await startFeed(join(tmp.dir, 'backend'), cleanups);
    await mkdir(join(tmp.dir, 'keys'));
    keyFile = await writeKeyFile(join(tmp.dir, 'keys', 'release.key'), generateReleaseKey());
    ledgerFile = join(tmp.dir, 'keys', 'release-ledger.json');
  });

  /** Signs a manifest for `version` with `counter` outside the ledger (as `sign` on another machine) and posts it. */
  async function signedElsewhere(version: string, counter: number): Promise<void> {
    const b = await makeBundle(tmp.dir, version, `export const v = '${version}';\n`);
    const up = await ops.uploadBundle(feed.client, b.file);
    await postSignedManifest(feed.client, up, { version, channel: 'beta', counter, keyFiles: [keyFile] });
  }

  it(`a step of ${MAX_COUNTER_JUMP} is adopted; one of ${MAX_COUNTER_JUMP + 1} stops promote and publish, nothing signed`, async () => {
    const b1 = await makeBundle(tmp.dir, '1.0.0', "export const v = '1.0.0';\n");
    await ops.publish(feed.client, {
      bundleFile: b1.file,
      channel: 'stable',
      version: '1.0.0',
      minRuntime: { electron: '45.0.0' },
      rolloutShare: 1,
      keyFiles: [keyFile],
    });
    expect((await ReleaseLedger.open(ledgerFile)).counter).toBe(1);

    await signedElsewhere('1.1.0', 1 + MAX_COUNTER_JUMP);
    expect(await ops.promote(feed.client, { version: '1.0.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).toMatchObject({
      counter: MAX_COUNTER_JUMP + 2,
    });
    expect((await ReleaseLedger.open(ledgerFile)).entries().find((e) => e.manifest.counter === 1 + MAX_COUNTER_JUMP)).toMatchObject({
      adopted: true,
    });

    const ledgerCounter = MAX_COUNTER_JUMP + 2;
    const far = ledgerCounter + MAX_COUNTER_JUMP + 1;
    await signedElsewhere('1.2.0', far);
    // Refused when the feed's counter is reconciled (ops.ts), and again by the ledger should that be bypassed.
    await expect(ops.promote(feed.client, { version: '1.0.0', channel: 'stable', rolloutShare: 1, keyFiles: [keyFile] })).rejects.toThrow(
      new RegExp(
        `claims counter ${far}.*a jump of ${MAX_COUNTER_JUMP + 1}, above ${MAX_COUNTER_JUMP}.*not followed|counter ${far} jumps more than ${MAX_COUNTER_JUMP}`,
        'i',
      ),
    );
    const b3 = await makeBundle(tmp.dir, '1.3.0', 'export {};\n');
    await expect(
      ops.publish(feed.client, {
        bundleFile: b3.file,
        channel: 'stable',
        version: '1.3.0',
        minRuntime: { electron: '45.0.0' },
        rolloutShare: 1,
        keyFiles: [keyFile],
      }),
    ).rejects.toThrow(/not followed|jumps more than/i);
    const ledger = await ReleaseLedger.open(ledgerFile);
    expect(ledger.counter).toBe(ledgerCounter);
    expect(ledger.entries().some((e) => e.manifest.counter === far)).toBe(false);
    expect((await ops.list(feed.client)).maxCounter).toBe(far);
  });
});
