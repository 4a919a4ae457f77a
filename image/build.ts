/**
 * The Debian image build, step by step (cli.ts parses the options):
 *   app       dist/app (npm run build:electron), dist/loader, the factory bundle (release bundler)
 *   base      the mmdebstrap tar of the package list, from the cache or built and cached
 *   rootfs    base extracted, board files + app applied (rootfs.ts), GRUB's EFI binary made
 *   ext4      rootfs.ext4 with mkfs.ext4 -d (no loop device, no mount)
 *   disk      the board's post-image.sh: genimage.cfg layout, grubenv, signed RAUC bundle
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseCacheFileName, grubModulesFromDefconfig, mmdebstrapArgs, rootfsSizeMiB, type BaseSpec } from './plan.js';
import { raucKeys, releaseKeys } from './keys.js';
import { customizeRootfs } from './rootfs.js';
import { debianImageReleaseFloor } from './release-floor.js';
import { checkTools, step, type Runner } from './run.js';

export interface BuildOptions {
  repo: string;
  version: string;
  outDir: string;
  cacheDir: string;
  keysDir: string;
  base: BaseSpec;
  raucKey?: string;
  raucCert?: string;
  raucKeyring?: string;
  releaseKeyring?: string;
  /** The release floor: a file (`npm run release -- floor`) or the ledger; neither: the ledger beside the keyring, else a development floor. */
  releaseFloor?: string | undefined;
  releaseLedger?: string | undefined;
  slotMiB: number;
  dataMiB: number;
  efiMiB: number;
  skipAppBuild: boolean;
  refreshBase: boolean;
  keepWork: boolean;
  run: Runner;
}

export const IMAGE_NAME = 'airpanel-debian-x86_64';
const REQUIRED_TOOLS = ['mmdebstrap', 'genimage', 'mkfs.ext4', 'mkfs.vfat', 'mcopy', 'rauc', 'mksquashfs', 'openssl', 'chroot', 'tar'];

export interface BuildResult {
  image: string;
  bundle: string;
  info: string;
  timings: Array<[string, number]>;
}

/** App, loader and factory bundle from this checkout; returns the extracted factory bundle. */
async function buildApp(o: BuildOptions, work: string): Promise<{ loaderDir: string; factoryDir: string }> {
  const { run, repo } = o;
  if (!o.skipAppBuild) {
    await run('npm', ['run', '--silent', 'build:electron'], { cwd: repo, quiet: true });
    await run('npx', ['--no-install', 'tsx', 'src-main/loader/build.ts'], { cwd: repo, quiet: true });
  }
  const loaderDir = join(repo, 'dist/loader');
  for (const f of [join(repo, 'dist/app/main.js'), join(loaderDir, 'main.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: build without --skip-app-build`);
  }
  const tarball = join(work, `factory-${o.version}.tar.gz`);
  await run('npx', ['--no-install', 'tsx', 'tools/release/cli.ts', 'bundle', '--version', o.version, '--out', tarball], {
    cwd: repo,
    quiet: true,
  });
  const factoryDir = join(work, 'factory');
  await mkdir(factoryDir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', factoryDir, '--no-same-owner']);
  if (!existsSync(join(factoryDir, 'bundle.json'))) throw new Error('the factory bundle has no bundle.json');
  return { loaderDir, factoryDir };
}

/** The base root filesystem tar: cached under cacheDir by the key of the package list. */
async function baseTar(o: BuildOptions): Promise<string> {
  const file = join(o.cacheDir, baseCacheFileName(o.base));
  if (existsSync(file) && !o.refreshBase) {
    console.log(`  cached base: ${file} (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB; --refresh-base to rebuild)`);
    return file;
  }
  await mkdir(o.cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.partial`;
  console.log(
    `  mmdebstrap ${o.base.suite} from ${o.base.mirror}: ${o.base.packages.length} packages and their dependencies (several minutes)`,
  );
  try {
    await o.run('nice', ['-n', '10', 'mmdebstrap', ...mmdebstrapArgs(o.base, tmp)]);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

/** GRUB's EFI binary from the root's own GRUB (the host's may be another version). */
async function grubEfi(o: BuildOptions, root: string, binaries: string): Promise<void> {
  const modules = grubModulesFromDefconfig(await readFile(join(o.repo, 'buildroot/configs/airpanel_x86_64_defconfig'), 'utf8'));
  await o.run('chroot', [root, 'grub-mkimage', '-O', 'x86_64-efi', '-p', '/EFI/BOOT', '-o', '/tmp/bootx64.efi', ...modules]);
  const dir = join(binaries, 'efi-part/EFI/BOOT');
  await mkdir(dir, { recursive: true });
  await rename(join(root, 'tmp/bootx64.efi'), join(dir, 'bootx64.efi'));
}

async function duBytes(run: Runner, dir: string): Promise<number> {
  const out = await run('du', ['-sb', '--apparent-size', dir], { capture: true });
  return Number(out.split(/\s/)[0]);
}

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  if (process.getuid?.() !== 0)
    throw new Error('the image build runs as root (mmdebstrap --mode=root, chroot, file ownership): run it with sudo or in CI');
  checkTools(REQUIRED_TOOLS);
  const timings: Array<[string, number]> = [];
  const work = join(o.outDir, `.work-${process.pid}`);
  const root = join(work, 'root');
  const binaries = join(work, 'images');
  await rm(work, { recursive: true, force: true });
  await mkdir(binaries, { recursive: true });
  try {
    const rauc = await raucKeys({ key: o.raucKey, cert: o.raucCert, keyring: o.raucKeyring, keysDir: o.keysDir, run: o.run });
    const release = await releaseKeys({ keyring: o.releaseKeyring, keysDir: o.keysDir, repo: o.repo, run: o.run });
    const floor = await debianImageReleaseFloor({
      floorFile: o.releaseFloor,
      ledgerFile: o.releaseLedger,
      keyring: release.keyring,
      factoryVersion: o.version,
      outFile: join(work, 'release-floor.json'),
    });
    // The slow, cacheable part first: a broken app build then still leaves a cached base.
    const base = await step('base root filesystem (mmdebstrap, cached)', () => baseTar(o), timings);
    const app = await step(`app ${o.version}: dist/app, dist/loader, factory bundle`, () => buildApp(o, work), timings);
    await step(
      'root filesystem: board files, app, Debian settings',
      async () => {
        await mkdir(root);
        await o.run('tar', ['-xpf', base, '-C', root, '--numeric-owner', '--xattrs', '--xattrs-include=*']);
        await grubEfi(o, root, binaries);
        await customizeRootfs({
          root,
          buildrootDir: join(o.repo, 'buildroot'),
          loaderDir: app.loaderDir,
          factoryBundleDir: app.factoryDir,
          releaseKeyring: release.keyring,
          releaseFloor: join(work, 'release-floor.json'),
          raucKeyring: rauc.keyring,
          run: o.run,
        });
      },
      timings,
    );
    const rootfs = join(binaries, 'rootfs.ext4');
    await step(
      'rootfs.ext4 (mkfs.ext4 -d)',
      async () => {
        const mib = rootfsSizeMiB(await duBytes(o.run, root), o.slotMiB);
        await o.run('mkfs.ext4', ['-q', '-F', '-L', 'airpanel-root', '-i', '8192', '-d', root, rootfs, `${mib}M`]);
        console.log(`  rootfs.ext4: ${mib} MiB`);
      },
      timings,
    );
    await step(
      'disk image and signed RAUC bundle (board post-image.sh)',
      () =>
        o.run('sh', [join(o.repo, 'buildroot/board/airpanel/x86_64/post-image.sh'), binaries], {
          env: {
            TARGET_DIR: root,
            BUILD_DIR: work,
            AIRPANEL_IMAGE_VERSION: o.version,
            AIRPANEL_EFI_SIZE: `${o.efiMiB}M`,
            AIRPANEL_SLOT_SIZE: `${o.slotMiB}M`,
            AIRPANEL_DATA_SIZE: `${o.dataMiB}M`,
            // No AIRPANEL_RAUC_KEYRING here: Debian 12's rauc checks the S/MIME purpose when it
            // verifies at bundle time, and the signing certificate is for code signing only.
            AIRPANEL_RAUC_KEY: rauc.key,
            AIRPANEL_RAUC_CERT: rauc.cert,
          },
        }),
      timings,
    );
    const image = join(o.outDir, `${IMAGE_NAME}.img`);
    const bundle = join(o.outDir, `${IMAGE_NAME}-${o.version}.raucb`);
    await rename(join(binaries, 'airpanel-x86_64.img'), image);
    await rename(join(binaries, `airpanel-x86_64-${o.version}.raucb`), bundle);
    const info = join(o.outDir, `${IMAGE_NAME}.json`);
    const pkg = JSON.parse(readFileSync(join(o.repo, 'package.json'), 'utf8')) as { version: string };
    await writeFile(
      info,
      `${JSON.stringify(
        {
          image,
          bundle,
          version: o.version,
          checkoutVersion: pkg.version,
          base: { suite: o.base.suite, mirror: o.base.mirror, cache: base },
          raucKeyring: rauc.keyring,
          raucDevelopmentKey: rauc.development,
          releaseKeyring: release.keyring,
          releaseDevelopmentKey: release.development,
          releaseFloor: floor.floor,
          releaseFloorSource: floor.source,
          imageBytes: statSync(image).size,
          imageAllocatedBytes: statSync(image).blocks * 512,
          bundleBytes: statSync(bundle).size,
          builtAt: new Date().toISOString(),
          timings: Object.fromEntries(timings),
        },
        null,
        2,
      )}\n`,
    );
    return { image, bundle, info, timings };
  } finally {
    if (!o.keepWork) await rm(work, { recursive: true, force: true });
  }
}
