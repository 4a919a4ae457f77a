// The release floor both images ship (release-floor.ts) and where the Debian image puts it
// (rootfs.ts installApp), on real files. The Buildroot side: test/image-makefile.test.ts and
// test/image.test.ts (the floor in root A of the assembled disk).
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readImageReleaseFloor } from '@airpanel/panel/update/image-floor';
import { ReleaseLedger } from '@airpanel/release-tools/ledger';
import { makeManifest } from '@airpanel/release-tools/ops';
import { debianImageReleaseFloor, ledgerBesideKeyring, resolveReleaseFloor } from './release-floor.js';
import { installApp } from './rootfs.js';
import { run } from './run.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airpanel-release-floor-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const floorOf = (counterFloor: number, factoryVersion: string) => ({ format: 'airpanel-release-floor/1', counterFloor, factoryVersion });

/** A ledger as the release tool leaves it after signing a manifest with `counter`. */
async function ledgerAt(file: string, counter: number): Promise<void> {
  const ledger = await ReleaseLedger.open(file);
  await ledger.record(
    makeManifest({
      version: '1.3.0',
      channel: 'stable',
      bundleUrl: '../../bundles/x.tar.gz',
      sha512: `${'A'.repeat(86)}==`,
      size: 1,
      bundleDescriptorSha256: '0'.repeat(64),
      minRuntime: { node: '20.0.0' },
      counter,
      rolloutShare: 1,
    }),
    ['0123456789abcdef0123456789abcdef'],
  );
}

describe('the release floor an image ships', () => {
  it('without a floor file or a ledger: the development floor, announced; a release build refuses it', async () => {
    const warnings: string[] = [];
    const dev = await resolveReleaseFloor({ factoryVersion: '1.4.0', release: false }, (t) => warnings.push(t));
    expect(dev.floor).toEqual(floorOf(0, '1.4.0'));
    expect(dev.source).toBe('development');
    expect(warnings.join('\n')).toMatch(/DEVELOPMENT release floor: counter 0, factory version 1\.4\.0[\s\S]*Never ship such an image/);
    await expect(resolveReleaseFloor({ factoryVersion: '1.4.0', release: true }, () => undefined)).rejects.toThrow(
      /a release image needs a release floor/,
    );
  });

  it('from the ledger: its highest counter; a ledger path with nothing behind it is refused, not read as counter 0', async () => {
    const ledger = join(dir, 'release-ledger.json');
    await ledgerAt(ledger, 31);
    const r = await resolveReleaseFloor({ ledgerFile: ledger, factoryVersion: '1.4.0', release: true });
    expect(r).toMatchObject({ floor: floorOf(31, '1.4.0'), source: 'ledger' });
    await expect(resolveReleaseFloor({ ledgerFile: join(dir, 'absent.json'), factoryVersion: '1.4.0', release: false })).rejects.toThrow(
      /no such release ledger/,
    );
  });

  it("a floor file: taken when its factory version is the image's; another version, an invalid or missing file, or both inputs are refused", async () => {
    const file = join(dir, 'floor.json');
    await writeFile(file, JSON.stringify(floorOf(12, '1.4.0')));
    expect((await resolveReleaseFloor({ floorFile: file, factoryVersion: '1.4.0', release: true })).floor).toEqual(floorOf(12, '1.4.0'));
    await expect(resolveReleaseFloor({ floorFile: file, factoryVersion: '1.5.0', release: false })).rejects.toThrow(
      /floor of factory version 1\.4\.0, this image's factory bundle is 1\.5\.0/,
    );
    await expect(resolveReleaseFloor({ floorFile: file, ledgerFile: file, factoryVersion: '1.4.0', release: false })).rejects.toThrow(
      /not both/,
    );
    await writeFile(file, JSON.stringify({ ...floorOf(12, '1.4.0'), extra: true }));
    await expect(resolveReleaseFloor({ floorFile: file, factoryVersion: '1.4.0', release: false })).rejects.toThrow(/floor\.json/);
    await expect(resolveReleaseFloor({ floorFile: join(dir, 'absent.json'), factoryVersion: '1.4.0', release: false })).rejects.toThrow(
      /no such release floor file/,
    );
  });
});

describe('npm run image: the floor in the Debian root', () => {
  it('takes the ledger beside the release keyring by default, an explicit floor file over it, and writes what the panel reads', async () => {
    const keys = join(dir, 'keys');
    await mkdir(keys);
    const keyring = join(keys, 'release-keyring.json');
    await writeFile(keyring, '{"keys":[]}');
    expect(ledgerBesideKeyring(keyring)).toBeUndefined();
    expect(ledgerBesideKeyring(null)).toBeUndefined();
    await ledgerAt(join(keys, 'release-ledger.json'), 7);
    expect(ledgerBesideKeyring(keyring)).toBe(join(keys, 'release-ledger.json'));

    const out = join(dir, 'work/release-floor.json');
    const fromLedger = await debianImageReleaseFloor({ keyring, factoryVersion: '2.0.0', outFile: out });
    expect(fromLedger.source).toBe('ledger');
    expect(readImageReleaseFloor(out)).toEqual(floorOf(7, '2.0.0'));

    const given = join(dir, 'given-floor.json');
    await writeFile(given, JSON.stringify(floorOf(40, '2.0.0')));
    const fromFile = await debianImageReleaseFloor({ floorFile: given, keyring, factoryVersion: '2.0.0', outFile: out });
    expect(fromFile.source).toBe('floor-file');
    expect(readImageReleaseFloor(out)).toEqual(floorOf(40, '2.0.0'));
  });

  it('rootfs.ts installs it as /usr/lib/airpanel/release-floor.json, root-owned and read-only for the app', async () => {
    const root = join(dir, 'root');
    const loaderDir = join(dir, 'loader');
    const factory = join(dir, 'factory');
    await mkdir(loaderDir, { recursive: true });
    await mkdir(factory, { recursive: true });
    await writeFile(join(loaderDir, 'main.js'), '// loader');
    await writeFile(join(factory, 'bundle.json'), '{}');
    const floorFile = join(dir, 'release-floor.json');
    await debianImageReleaseFloor({ keyring: null, factoryVersion: '2.0.0', outFile: floorFile });
    await installApp({
      root,
      buildrootDir: join(dir, 'unused'),
      loaderDir,
      factoryBundleDir: factory,
      releaseKeyring: null,
      releaseFloor: floorFile,
      raucKeyring: join(dir, 'unused.pem'),
      run,
    });
    const installed = join(root, 'usr/lib/airpanel/release-floor.json');
    expect(readImageReleaseFloor(installed)).toEqual(floorOf(0, '2.0.0'));
    expect(await readFile(installed, 'utf8')).toBe(await readFile(floorFile, 'utf8'));
    const st = await stat(installed);
    expect(st.mode & 0o777).toBe(0o644);
    if (process.getuid?.() === 0) expect([st.uid, st.gid]).toEqual([0, 0]);
  });
});
