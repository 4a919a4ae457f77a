// Shared fixtures of the BundleLoader tests: real bundles on disk and real child processes.
import { afterEach, beforeEach } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MinRuntime, ReleaseManifest } from '@airpanel/contract/release';
import { RESTART_EXIT_CODE } from '@airpanel/contract/internal';
import { buildBundle, extractBundle, type BuiltBundle } from '../core/update/bundle.js';
import { installBundle } from '../core/update/install.js';
import { Ed25519Verifier, generateReleaseKey, signManifest } from '../core/update/keys.js';
import { releaseLayout } from '../core/update/layout.js';
import { BundleLoader } from './loader.js';
import { ProcessLauncher } from './launcher.js';

// The loader's fs + process layer with real bundles on disk and real child processes.
export const APPS = {
  healthy: "process.send({ type: 'airpanel/healthy' }); setTimeout(() => process.exit(0), 50);\n",
  crash: 'process.exit(7);\n',
  // Commits, then dies a little later (a committed bundle in a crash loop).
  healthyThenCrash: "process.send({ type: 'airpanel/healthy' }); setTimeout(() => process.exit(3), 50);\n",
  // Commits, then asks for a restart (the operator's `restart` command: RESTART_EXIT_CODE).
  healthyThenRestart: `process.send({ type: 'airpanel/healthy' }); setTimeout(() => process.exit(${RESTART_EXIT_CODE}), 50);\n`,
  // Commits and says it is alive a few times (as with every WATCHDOG=1), then hangs.
  healthyAliveThenHang:
    "process.send({ type: 'airpanel/healthy' });\nlet n = 0;\nconst t = setInterval(() => { process.send({ type: 'airpanel/alive' }); if (++n === 3) clearInterval(t); }, 100);\nsetInterval(() => {}, 1000);\n",
  // Commits, then hangs (no exit): on a panel the watchdog takes the unit down, loader and all.
  healthyThenHang:
    "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.AIRPANEL_DATA_DIR + '/app.pid', String(process.pid));\nprocess.send({ type: 'airpanel/healthy' });\nsetInterval(() => {}, 1000);\n",
  hang: 'setInterval(() => {}, 1000);\n',
  // Hangs, and has started a helper process of its own (like Electron's GPU process).
  hangWithChild:
    "import { spawn } from 'node:child_process'; import { writeFileSync } from 'node:fs';\nconst c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });\nwriteFileSync(process.env.AIRPANEL_DATA_DIR + '/helper.pid', String(c.pid));\nsetInterval(() => {}, 1000);\n",
} as const;

// The image's keyring holds `key`; `stranger` is a key the image does not trust.
export const key = generateReleaseKey();
export const stranger = generateReleaseKey();
export const verifier = new Ed25519Verifier([{ keyId: key.keyId, publicKey: key.publicKey }]);
export const RUNTIME = '45.4.1';
export const MIN: MinRuntime = { electron: '45.0.0', node: '20.0.0' };

export function manifestFor(b: BuiltBundle, over: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return {
    schema: 2,
    version: b.descriptor.version,
    channel: 'stable',
    bundle: { url: 'b.tar.gz', sha512: b.sha512, size: b.size },
    bundleDescriptorSha256: b.descriptorSha256,
    minRuntime: b.descriptor.minRuntime,
    counter: 1,
    releasedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    rolloutShare: 1,
    ...over,
  };
}

// Live bindings: the test files read these after each beforeEach of useLoaderDirs has set them.
export let dir: string;
export let dataDir: string;
export let factoryDir: string;

export async function build(version: string, app: keyof typeof APPS, minRuntime: MinRuntime = MIN): Promise<BuiltBundle> {
  const tree = join(dir, `tree-${version}`);
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'main.mjs'), APPS[app]);
  return buildBundle({
    inputs: [{ dir: tree, as: 'app' }],
    version,
    main: 'app/main.mjs',
    minRuntime,
    outFile: join(dir, `${version}.tar.gz`),
  });
}

/** As the updater installs: the signed manifest kept beside the files, candidate.json written. */
export async function install(version: string, app: keyof typeof APPS, minRuntime: MinRuntime = MIN): Promise<BuiltBundle> {
  const b = await build(version, app, minRuntime);
  const manifest = manifestFor(b);
  await installBundle(
    releaseLayout(dataDir),
    b.file,
    { manifest, signatures: signManifest(manifest, [key.privateKeyPem]).signatures },
    new Date(),
  );
  return b;
}

/** A fresh temp tree with a factory bundle for each test (call inside the describe). */
export function useLoaderDirs(): void {
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-loader-'));
    dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const tree = join(dir, 'factory-tree');
    await mkdir(tree);
    await writeFile(join(tree, 'main.mjs'), APPS.healthy);
    const b = await buildBundle({
      inputs: [{ dir: tree, as: 'app' }],
      version: '1.0.0',
      main: 'app/main.mjs',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(dir, 'factory.tar.gz'),
    });
    factoryDir = join(dir, 'factory');
    await extractBundle(b.file, factoryDir, '1.0.0');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
}

export const loader = (healthDeadlineMs = 10_000, o: { crashLimit?: number; runtimeVersion?: string } = {}) =>
  new BundleLoader({
    dataDir,
    factoryDir,
    healthDeadlineMs,
    verifier,
    runtimeVersion: o.runtimeVersion ?? RUNTIME,
    restartDelayMs: 10,
    ...(o.crashLimit ? { crashLimit: o.crashLimit } : {}),
    launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }),
  });
