// A stand-in of the image's runtime layout for tests of the runtime app (src-main/loader/
// runtime-app), with Node in place of Electron (no Electron binary here):
//   <root>/opt/airpanel/airpanel              the "binary": sh → node standin-runtime.mjs <app dir> "$@"
//   <root>/opt/airpanel/resources/app/        the runtime app as src-main/loader/build.ts builds it,
//                                             its runtime.json pointing into <root>
//   <root>/node_modules/electron/             the stand-in electron module (before-ready rules enforced)
//   <root>/usr/lib/airpanel/factory/          a factory bundle (release bundler, extracted)
//   <root>/usr/lib/airpanel/release-keys.json the keyring
//   <root>/data/airpanel/                     the data dir
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MinRuntime, ReleaseManifest } from '@airpanel/contract/release';
import { buildBundle, extractBundle, type BuiltBundle } from '@airpanel/panel/core/update/bundle';
import { installBundle } from '@airpanel/panel/core/update/install';
import { signManifest, type ReleaseKeyPair } from '@airpanel/panel/core/update/keys';
import { releaseLayout } from '@airpanel/panel/core/update/layout';
import { REPO } from '../../image-fixture.js';

const STANDIN = join(REPO, 'test/electron/standin');
export const MIN_RUNTIME: MinRuntime = { electron: '45.0.0', node: '20.0.0' };

/** Builds dist-like loader output (main.js, runtime-app/) into `outDir` with src-main/loader/build.ts. */
export function buildLoader(outDir: string): void {
  const r = spawnSync('npx', ['tsx', 'src-main/loader/build.ts', '--out-dir', outDir], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`loader build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface StandInImage {
  root: string;
  /** The stand-in for /opt/airpanel/airpanel. */
  binary: string;
  appDir: string;
  dataDir: string;
  factoryDir: string;
  keyringFile: string;
}

/** Lays out the stand-in image under `root` with the built runtime app of `loaderOut`. */
export function standInImage(root: string, loaderOut: string, keys: readonly ReleaseKeyPair[]): StandInImage {
  const img: StandInImage = {
    root,
    binary: join(root, 'opt/airpanel/airpanel'),
    appDir: join(root, 'opt/airpanel/resources/app'),
    dataDir: join(root, 'data/airpanel'),
    factoryDir: join(root, 'usr/lib/airpanel/factory'),
    keyringFile: join(root, 'usr/lib/airpanel/release-keys.json'),
  };
  mkdirSync(img.dataDir, { recursive: true });
  mkdirSync(join(root, 'usr/lib/airpanel'), { recursive: true });
  cpSync(join(STANDIN, 'electron'), join(root, 'node_modules/electron'), { recursive: true });
  cpSync(join(STANDIN, 'runtime.mjs'), join(root, 'opt/airpanel/standin-runtime.mjs'));
  cpSync(join(loaderOut, 'runtime-app'), img.appDir, { recursive: true });
  writeFileSync(
    join(img.appDir, 'runtime.json'),
    JSON.stringify({ dataDir: img.dataDir, factoryDir: img.factoryDir, keyring: img.keyringFile, runtime: img.binary }),
  );
  writeFileSync(
    img.binary,
    `#!/bin/sh\nSTANDIN_ELECTRON_EXEC='${img.binary}' exec '${process.execPath}' '${join(root, 'opt/airpanel/standin-runtime.mjs')}' '${img.appDir}' "$@"\n`,
  );
  chmodSync(img.binary, 0o755);
  writeFileSync(img.keyringFile, JSON.stringify({ keys: keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })) }));
  return img;
}

/** A bundle whose one file is `main.mjs` with `source`, made by the release bundler. */
export async function makeBundle(work: string, version: string, source: string): Promise<BuiltBundle> {
  const src = join(work, `src-${version}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'main.mjs'), source);
  return buildBundle({
    inputs: [{ dir: src, as: '.' }],
    version,
    main: 'main.mjs',
    minRuntime: MIN_RUNTIME,
    outFile: join(src, '..', `${version}-${Math.random().toString(36).slice(2)}.tar.gz`),
  });
}

/** As buildroot/Makefile ships the factory bundle: extracted into the read-only root. */
export async function installFactory(img: StandInImage, bundle: BuiltBundle): Promise<void> {
  await extractBundle(bundle.file, img.factoryDir, bundle.descriptor.version);
}

export function manifestFor(b: BuiltBundle, counter = 1): ReleaseManifest {
  return {
    schema: 2,
    version: b.descriptor.version,
    channel: 'stable',
    bundle: { url: 'bundle.tar.gz', sha512: b.sha512, size: b.size },
    bundleDescriptorSha256: b.descriptorSha256,
    minRuntime: b.descriptor.minRuntime,
    counter,
    releasedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2099-01-01T00:00:00.000Z',
    rolloutShare: 1,
  };
}

/** As the updater installs a verified download: releases/<v>/ with its signed manifest, candidate.json. */
export async function installSigned(img: StandInImage, b: BuiltBundle, key: ReleaseKeyPair): Promise<void> {
  const manifest = manifestFor(b);
  await installBundle(
    releaseLayout(img.dataDir),
    b.file,
    { manifest, signatures: signManifest(manifest, [key.privateKeyPem]).signatures },
    new Date(),
  );
}
