// The image's runtime app (src-main/loader/runtime-app, as build.ts builds it) run the way the
// packaged Electron runs it, with Node and a STAND-IN Electron (test/electron/standin): the
// stand-in `electron` module throws on before-ready calls once ready, and the stand-in binary
// emits ready as soon as the app's entry module has been evaluated, as Electron does. What is
// under test is the runtime app: which releases it starts, from where, and when.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReleaseKey } from '@airpanel/panel/core/update/keys';
import { tempDir } from '../image-fixture.js';
import { buildLoader, installFactory, installSigned, makeBundle, standInImage, type StandInImage } from './standin/fixture.js';

// A bundle as the Electron host's main.ts is at its top level: a privileged scheme and the
// sandbox, which Electron accepts only before ready, after some asynchronous work of its own
// (its imports). On ready it records how it was started and exits.
const BUNDLE = `import { app, protocol } from 'electron';
import { writeFileSync } from 'node:fs';
await new Promise((resolve) => setTimeout(resolve, 30));
protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true } }]);
app.enableSandbox();
app.whenReady().then(() => {
  writeFileSync(process.env.AIRPANEL_DATA_DIR + '/ran-' + process.env.AIRPANEL_BUNDLE_VERSION + '.json', JSON.stringify({
    argv: process.argv.slice(1), launch: process.env.AIRPANEL_LAUNCH ?? null, version: process.env.AIRPANEL_BUNDLE_VERSION,
    entry: process.env.AIRPANEL_BUNDLE_ENTRY ?? null, url: import.meta.url,
  }));
  process.exit(0);
});
`;
// What must never run: any file it can reach records that it ran.
const EVIL = (marker: string) =>
  `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nprocess.exit(0);\n`;

const key = generateReleaseKey();
const stranger = generateReleaseKey();
let work: ReturnType<typeof tempDir>;
let loaderOut: string;
let img: StandInImage;

function runtime(args: string[], env: Record<string, string> = {}) {
  return spawnSync(img.binary, args, { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
}
const ran = (version: string) => {
  const p = join(img.dataDir, `ran-${version}.json`);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : null;
};

beforeAll(async () => {
  work = tempDir('airpanel-runtime-app-');
  loaderOut = join(work.dir, 'loader');
  buildLoader(loaderOut);
  img = standInImage(join(work.dir, 'root'), loaderOut, [key]);
  await installFactory(img, await makeBundle(work.dir, '1.0.0', BUNDLE));
}, 150_000);
afterAll(() => work?.remove());

describe('runtime app, release role (stand-in Electron)', () => {
  it('the stand-in enforces the ordering rule: an entry that does not await the bundle import fails', () => {
    // The runtime app as it was before (import without await), run by the same stand-in binary.
    const old = join(work.dir, 'root/opt/airpanel/resources/app-unawaited');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'package.json'), JSON.stringify({ type: 'module', main: 'main.mjs' }));
    writeFileSync(
      join(old, 'main.mjs'),
      `import(${JSON.stringify(`file://${img.factoryDir}/main.mjs`)}).catch((e) => { console.error(e.message); process.exit(1); });\n`,
    );
    const r = spawnSync(process.execPath, [join(img.root, 'opt/airpanel/standin-runtime.mjs'), old], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', AIRPANEL_DATA_DIR: img.dataDir },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/can only be called before app is ready/);
  });

  it("factory: the bundle's top level (privileged scheme, sandbox) runs before ready, then it runs", () => {
    const r = runtime(['--airpanel-release=factory', '--ozone-platform=wayland']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ran('1.0.0')).toEqual({
      argv: ['--airpanel-release=factory', '--ozone-platform=wayland'],
      launch: 'factory',
      version: '1.0.0',
      entry: null,
      url: `file://${img.factoryDir}/main.mjs`,
    });
  });

  it("an installed release signed by the image's keyring is verified, then started from the data dir", async () => {
    await installSigned(img, await makeBundle(work.dir, '2.0.0', BUNDLE), key);
    const r = runtime(['--airpanel-release=2.0.0'], { AIRPANEL_LAUNCH: 'trial', AIRPANEL_BUNDLE_VERSION: '2.0.0' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ran('2.0.0')).toMatchObject({ launch: 'trial', version: '2.0.0', url: `file://${img.dataDir}/releases/2.0.0/main.mjs` });
  });

  describe('starts nothing it has not verified', () => {
    const marker = () => join(work.dir, 'evil-ran');
    const evilFile = () => join(work.dir, 'evil.mjs');
    beforeAll(() => writeFileSync(evilFile(), EVIL(marker())));

    it.each([
      ['no role at all (Electron started by hand)', [] as string[], /no role on the command line/],
      ['a path as the release', ['--airpanel-release=EVIL'], /does not name a release .*never a path/],
      ['a relative path as the release', ['--airpanel-release=../../evil'], /does not name a release/],
      ['two roles', ['--airpanel-role=loader', '--airpanel-release=factory'], /more than one role switch/],
      ['the entry in the environment, as the old runtime app took it', ['EVIL'], /no role on the command line/],
    ])('%s', (_what, args, message) => {
      const r = runtime(
        args.map((a) => a.replace('EVIL', evilFile())),
        { AIRPANEL_BUNDLE_ENTRY: evilFile() },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(marker())).toBe(false);
    });

    it('a complete but unsigned release planted in the data dir', async () => {
      const b = await makeBundle(work.dir, '6.6.6', EVIL(marker()));
      await installFactoryLike(b, join(img.dataDir, 'releases/6.6.6'));
      const r = runtime(['--airpanel-release=6.6.6']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/release 6\.6\.6 not started: .*release-manifest\.json/);
      expect(existsSync(marker())).toBe(false);
    });

    it('a release signed by a key the image does not trust', async () => {
      await installSigned(img, await makeBundle(work.dir, '7.0.0', EVIL(marker())), stranger);
      const r = runtime(['--airpanel-release=7.0.0']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/release 7\.0\.0 not started: .*no valid signature/);
      expect(existsSync(marker())).toBe(false);
    });

    it('a signed release with one byte of its main changed (same size)', async () => {
      await installSigned(img, await makeBundle(work.dir, '8.0.0', BUNDLE), key);
      const main = join(img.dataDir, 'releases/8.0.0/main.mjs');
      writeFileSync(main, readFileSync(main, 'utf8').replace("'app'", "'apq'"));
      const r = runtime(['--airpanel-release=8.0.0']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/release 8\.0\.0 not started: .*main\.mjs does not match/);
      expect(ran('8.0.0')).toBeNull();
    });

    it('without runtime.json beside it the runtime starts nothing', () => {
      const config = readFileSync(join(img.appDir, 'runtime.json'));
      rmSync(join(img.appDir, 'runtime.json'));
      try {
        const r = runtime(['--airpanel-release=factory']);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/runtime\.json/);
      } finally {
        writeFileSync(join(img.appDir, 'runtime.json'), config);
      }
    });
  });
});

describe('runtime app, loader role options', () => {
  it.each([
    [['--data-dir', '/elsewhere'], /--data-dir \/elsewhere: this runtime's data-dir is .* fixed in its runtime\.json/],
    [['--factory-dir', '/tmp'], /--factory-dir \/tmp: this runtime's factory-dir is/],
    [['--host', 'node'], /the Electron runtime is the electron host, not "node"/],
    [['--max-attempts', '0'], /--max-attempts must be a positive integer/],
    [['--ozone-platform=wayland'], /Unknown option '--ozone-platform'/],
  ])('%j is refused with exit 2', (args, message) => {
    const r = runtime(['--airpanel-role=loader', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

async function installFactoryLike(b: Awaited<ReturnType<typeof makeBundle>>, dir: string): Promise<void> {
  const { extractBundle } = await import('@airpanel/panel/core/update/bundle');
  await extractBundle(b.file, dir, b.descriptor.version);
}
