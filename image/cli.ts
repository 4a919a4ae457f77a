/**
 * `npm run image -- [options]`: the Debian-based panel image, built offline from Debian's
 * mirror with this checkout's app, loader and the Buildroot tree's board files.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ReleaseVersion } from '@airpanel/contract/release';
import { IMAGE_NAME, buildImage } from './build.js';
import { defaultKeysDir } from './keys.js';
import { DEFAULT_MIRROR, DEFAULT_SUITE, defaultBaseSpec } from './plan.js';
import { run } from './run.js';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const checkoutVersion = (JSON.parse(readFileSync(resolve(repo, 'package.json'), 'utf8')) as { version: string }).version;

const HELP = `npm run image -- [options]
Builds dist/image/${IMAGE_NAME}.img (GPT: EFI, root A, root B, data) and its signed RAUC
bundle dist/image/${IMAGE_NAME}-<version>.raucb from Debian ${DEFAULT_SUITE} (mmdebstrap), the
board files of buildroot/board/airpanel/ and this checkout's app. Runs as root. See image/README.md.

  --image-version V     version of the image, its RAUC bundle and its factory app bundle
                        (default: package.json, ${checkoutVersion})
  --out-dir DIR         where the image goes (default dist/image)
  --cache-dir DIR       base root filesystems, keyed by package list (default ~/.cache/airpanel-image)
  --refresh-base        rebuild the cached base (the archive moved on, security updates)
  --keys-dir DIR        development keys, made on first use (default ~/.config/airpanel/image-keys)
  --rauc-key FILE, --rauc-cert FILE   sign the RAUC bundle with these (default: development pair)
  --rauc-keyring FILE   certificate chain the panel trusts for OS updates (default: --rauc-cert)
  --release-keyring FILE|none   OTA release keyring (tools/release/cli.ts keygen --keyring);
                        default: a development key; none: OTA off
  --release-floor FILE  the image's release floor (npm run release -- floor --factory-version
                        <image version>); --release-ledger FILE: made from the release ledger.
                        Default: the ledger beside the release keyring, else a development floor
                        (counter 0), announced
  --mirror URL          Debian mirror (default ${DEFAULT_MIRROR})
  --slot-size MiB       size of each root slot (default 2048)
  --data-size MiB       size of the data partition (default 512)
  --skip-app-build      reuse dist/app and dist/loader as they are
  --keep-work           keep the work folder (root tree, rootfs.ext4) under the out dir
  -h, --help`;

const Options = z.object({
  version: ReleaseVersion,
  slotMiB: z.number().int().min(512).max(16384),
  dataMiB: z.number().int().min(64).max(65536),
  mirror: z.string().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL'),
});

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      'image-version': { type: 'string' },
      'out-dir': { type: 'string' },
      'cache-dir': { type: 'string' },
      'refresh-base': { type: 'boolean' },
      'keys-dir': { type: 'string' },
      'rauc-key': { type: 'string' },
      'rauc-cert': { type: 'string' },
      'rauc-keyring': { type: 'string' },
      'release-keyring': { type: 'string' },
      'release-floor': { type: 'string' },
      'release-ledger': { type: 'string' },
      mirror: { type: 'string' },
      'slot-size': { type: 'string' },
      'data-size': { type: 'string' },
      'skip-app-build': { type: 'boolean' },
      'keep-work': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(HELP);
    return;
  }
  const o = Options.parse({
    version: v['image-version'] ?? checkoutVersion,
    slotMiB: Number(v['slot-size'] ?? 2048),
    dataMiB: Number(v['data-size'] ?? 512),
    mirror: v.mirror ?? DEFAULT_MIRROR,
  });
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(p));
  const t0 = Date.now();
  const r = await buildImage({
    repo,
    version: o.version,
    outDir: resolve(v['out-dir'] ?? resolve(repo, 'dist/image')),
    cacheDir: resolve(v['cache-dir'] ?? resolve(homedir(), '.cache/airpanel-image')),
    keysDir: resolve(v['keys-dir'] ?? defaultKeysDir()),
    base: defaultBaseSpec(o.mirror),
    raucKey: abs(v['rauc-key']),
    raucCert: abs(v['rauc-cert']),
    raucKeyring: abs(v['rauc-keyring']),
    releaseKeyring: v['release-keyring'] === 'none' ? 'none' : abs(v['release-keyring']),
    releaseFloor: abs(v['release-floor']),
    releaseLedger: abs(v['release-ledger']),
    slotMiB: o.slotMiB,
    dataMiB: o.dataMiB,
    efiMiB: 64,
    skipAppBuild: v['skip-app-build'] === true,
    refreshBase: v['refresh-base'] === true,
    keepWork: v['keep-work'] === true,
    run,
  });
  console.log(`\nimage:  ${r.image}\nbundle: ${r.bundle}\ninfo:   ${r.info}\nbuilt in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e: unknown) => {
  console.error(`image: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
