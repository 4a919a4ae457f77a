/**
 * Launch-time verification cost: what the loader spends on `verifyInstalledRelease` (signature
 * of the kept manifest, bundle.json's sha256, exact file set, every file's sha256, no symlink on
 * the path) before it starts the real app bundle, next to what it costs just to read the same
 * files, and next to the size-only check the loader did before (`checkBundleDir`, no hashes).
 *
 *   npx tsx test/bench/launch-verify.ts [--rounds 30]
 *
 * The bundle is the real one: dist/app (npm run build:electron) with its npm runtime
 * dependencies, built by the release bundler, signed and installed by the updater's installer
 * into a temporary data dir. Rounds alternate A B C / C B A so drift of the machine's load hits
 * all three alike; the page cache is warm for all (the bundle was just written), which is the
 * case on a panel for a restart but not for a cold boot from the SD card.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ReleaseManifest } from '@airpanel/contract/release';
import { buildBundle } from '@airpanel/panel/core/update/bundle';
import { checkBundleDir, verifyInstalledRelease } from '@airpanel/panel/core/update/bundle-check';
import { installBundle } from '@airpanel/panel/core/update/install';
import { Ed25519Verifier, generateReleaseKey, signManifest } from '@airpanel/panel/core/update/keys';
import { releaseLayout } from '@airpanel/panel/core/update/layout';
import { loadLine, machineInfo, round, writeReport } from './support/report.js';
import { summarize } from '../harness/index.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const rounds = Number(values.rounds);

if (!existsSync(join(REPO, 'dist', 'app', 'main.js'))) {
  console.error('dist/app is not built (npm run build:electron): this benchmark measures the real bundle only');
  process.exit(1);
}

const dir = await mkdtemp(join(tmpdir(), 'airpanel-launch-verify-'));
try {
  const version = '1.0.0';
  const built = await buildBundle({
    inputs: [{ dir: join(REPO, 'dist', 'app'), as: '.' }],
    version,
    main: 'main.js',
    ...(existsSync(join(REPO, 'dist', 'app', 'node-main.js')) ? { nodeMain: 'node-main.js' } : {}),
    minRuntime: { electron: '45.0.0', node: '20.0.0' },
    outFile: join(dir, 'bundle.tar.gz'),
    nodeModules: { projectDir: REPO, packages: 'auto' },
  });
  const key = generateReleaseKey();
  const verifier = new Ed25519Verifier([{ keyId: key.keyId, publicKey: key.publicKey }]);
  const manifest: ReleaseManifest = {
    schema: 2,
    version,
    channel: 'stable',
    bundle: { url: 'b.tar.gz', sha512: built.sha512, size: built.size },
    bundleDescriptorSha256: built.descriptorSha256,
    minRuntime: built.descriptor.minRuntime,
    counter: 1,
    releasedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    rolloutShare: 1,
  };
  const dataDir = join(dir, 'data');
  const layout = releaseLayout(dataDir);
  await installBundle(layout, built.file, { manifest, signatures: signManifest(manifest, [key.privateKeyPem]).signatures }, new Date());
  const bundleDir = layout.bundleDir(version);
  const unpacked = built.descriptor.files.reduce((n, f) => n + f.size, 0);
  console.log(
    `real bundle: ${built.descriptor.files.length} files, ${(built.size / 1048576).toFixed(2)} MiB packed, ${(unpacked / 1048576).toFixed(2)} MiB unpacked; ${loadLine()}`,
  );

  const cases: Record<string, () => Promise<unknown>> = {
    // What the loader runs before every start of an installed release.
    verify: () => verifyInstalledRelease(dataDir, version, { verifier, runtime: { host: 'electron', version: '45.4.1' } }),
    // The floor: reading bundle.json and every file it lists, nothing checked.
    'read files': async () => {
      await readFile(join(bundleDir, 'bundle.json'));
      for (const f of built.descriptor.files) await readFile(join(bundleDir, f.path));
    },
    // What the loader did before launch-time verification: bundle.json parsed, sizes only.
    'sizes only (before)': () => checkBundleDir(bundleDir, { hashes: false }),
  };
  const names = Object.keys(cases);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < 3; i++) for (const n of names) await cases[n]!(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      const t0 = performance.now();
      await cases[n]!();
      times[n]!.push(performance.now() - t0);
    }
  }
  const s = Object.fromEntries(names.map((n) => [n, summarize(times[n]!)]));
  const ratios = times.verify!.map((v, i) => v / times['read files']![i]!);
  const ratio = summarize(ratios);
  for (const n of names)
    console.log(`  ${n.padEnd(20)} p50 ${s[n]!.p50.toFixed(1)} ms, p90 ${s[n]!.p90.toFixed(1)} ms, max ${s[n]!.max.toFixed(1)} ms`);
  console.log(
    `verify / read files: ${ratio.p50.toFixed(2)} (median of ${rounds} rounds, range ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}); ${loadLine()}`,
  );
  const written = await writeReport(
    'launch-verify',
    {
      bundle: { files: built.descriptor.files.length, packedBytes: built.size, unpackedBytes: unpacked },
      rounds,
      ms: Object.fromEntries(names.map((n) => [n, { p50: round(s[n]!.p50), p90: round(s[n]!.p90), max: round(s[n]!.max) }])),
      ratioVerifyToRead: { p50: round(ratio.p50), min: round(ratio.min), max: round(ratio.max) },
    },
    {
      title: `Launch-time verification of the real bundle (${built.descriptor.files.length} files, ${(unpacked / 1048576).toFixed(1)} MiB)`,
      panels: [
        {
          kind: 'bars',
          title: 'median time per start',
          unit: 'ms',
          bars: names.map((n) => ({
            label: n,
            value: round(s[n]!.p50, 1),
            text: `${s[n]!.p50.toFixed(1)} ms (p90 ${s[n]!.p90.toFixed(1)})`,
          })),
        },
      ],
    },
    machineInfo(),
  );
  console.log(`wrote ${written.join(', ')}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
