// The images and bundles the boot tests need, built with the project's own tools when missing:
// a panel image of a given version (`npm run image`), an OS bundle whose app never becomes
// healthy (the root of a built image with its factory app's Node entry replaced by one that
// exits at start, signed by the board's rauc-bundle.sh), an app bundle that exits at start (the
// release bundler over a copy of dist/app whose Node entry only exits: a release that crashes),
// and a small ext4 disk holding a RAUC bundle, attached read-only to the guest (/data is too
// small to hold a 500 MiB bundle, and the guest reaches no other host).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { readImageInfo, type ImageInfo } from './boot-panel.js';
import { REPO } from './panel-image.js';

const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

function must(cmd: string, args: string[], timeoutMs = 30 * 60_000, env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, {
    cwd: REPO,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, PATH, ...env },
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(-4_000)}\n${r.stderr.slice(-4_000)}`);
  return r.stdout;
}

const TSX = join(REPO, 'node_modules/.bin/tsx');

/**
 * The image `outDir/airpanel-debian-x86_64.img` of `version`: reused when its info file says
 * that version and it was built after `builtAfter` (the image it must match: a second version
 * built from an older tree would carry an older app), else built (minutes; the base root
 * filesystem is cached).
 */
export function ensureImage(o: { version: string; outDir: string; builtAfter?: string }): ImageInfo {
  const image = join(o.outDir, 'airpanel-debian-x86_64.img');
  if (existsSync(image.replace(/\.img$/, '.json'))) {
    const info = readImageInfo(image);
    const fresh = o.builtAfter === undefined || (existsSync(info.image) && statSync(info.image).mtimeMs > statSync(o.builtAfter).mtimeMs);
    if (info.version === o.version && existsSync(info.bundle) && fresh) return info;
  }
  console.log(`[boot] building image ${o.version} into ${o.outDir} (npm run image)`);
  must(TSX, [join(REPO, 'image/cli.ts'), '--image-version', o.version, '--out-dir', o.outDir, '--skip-app-build']);
  return readImageInfo(image);
}

const BOARD = join(REPO, 'buildroot/board/airpanel');
/** Where `npm run image` keeps its development keys (image/README.md, "Options, keys, cache"). */
export const IMAGE_KEYS_DIR = process.env.AIRPANEL_IMAGE_KEYS ?? join(process.env.HOME ?? '/root', '.config/airpanel/image-keys');
/** Where the factory app bundle lives in the image's root (the loader's --factory-dir). */
const FACTORY_DIR = '/usr/lib/airpanel/factory';

const Partitions = z.object({
  partitiontable: z.object({
    sectorsize: z.number().int().positive().optional(),
    partitions: z.array(z.object({ start: z.number().int(), size: z.number().int(), name: z.string().optional() })),
  }),
});

/**
 * The signed RAUC bundle (version `version`) of `from`'s root filesystem with one change: the
 * factory app's Node entry exits at start, so the app never reports healthy (no READY=1) —
 * an OS update that is broken. The root is slot A of `from`'s disk image, cut to its ext4 size;
 * the change is made with debugfs (no mount); the bundle is signed with the image's
 * development RAUC key by the board's own `rauc-bundle.sh`. Reused when present.
 */
export function unhealthyOsBundle(o: { from: ImageInfo; version: string; outDir: string }): string {
  const name = 'airpanel-debian-x86_64-unhealthy';
  const bundle = join(o.outDir, `${name}-${o.version}.raucb`);
  if (existsSync(bundle) && statSync(bundle).mtimeMs > statSync(o.from.image).mtimeMs) return bundle;
  console.log(`[boot] building the unhealthy OS bundle ${o.version} from ${o.from.image}`);
  rmSync(o.outDir, { recursive: true, force: true });
  mkdirSync(o.outDir, { recursive: true });
  const table = Partitions.parse(JSON.parse(must('sfdisk', ['--json', o.from.image]))).partitiontable;
  const slotA = table.partitions.find((p) => p.name === 'rootfs-a');
  if (!slotA) throw new Error(`${o.from.image}: no partition named rootfs-a`);
  const sector = table.sectorsize ?? 512;
  const rootfs = join(o.outDir, 'rootfs.ext4');
  must('dd', [
    `if=${o.from.image}`,
    `of=${rootfs}`,
    'bs=4M',
    'iflag=skip_bytes,count_bytes',
    `skip=${slotA.start * sector}`,
    `count=${slotA.size * sector}`,
    'conv=sparse',
    'status=none',
  ]);
  const header = must('dumpe2fs', ['-h', rootfs]);
  const field = (label: string): number => {
    const m = new RegExp(`^${label}:\\s+(\\d+)$`, 'm').exec(header);
    if (!m) throw new Error(`dumpe2fs -h ${rootfs}: no "${label}"`);
    return Number(m[1]);
  };
  must('truncate', ['-s', String(field('Block count') * field('Block size')), rootfs]);

  const descriptor = z
    .object({ version: z.string(), nodeMain: z.string().regex(/^[\w.-]+(\/[\w.-]+)*$/) })
    .parse(JSON.parse(must('debugfs', ['-R', `cat ${FACTORY_DIR}/bundle.json`, rootfs])));
  const entry = `${FACTORY_DIR}/${descriptor.nodeMain}`;
  const local = join(o.outDir, 'never-healthy-node-main.js');
  writeFileSync(local, "process.stderr.write('unhealthy OS bundle (boot test): the factory app exits at start\\n');\nprocess.exit(1);\n");
  const script = join(o.outDir, 'debugfs.cmd');
  writeFileSync(
    script,
    [`rm ${entry}`, `write ${local} ${entry}`, `sif ${entry} mode 0100644`, `sif ${entry} uid 0`, `sif ${entry} gid 0`, ''].join('\n'),
  );
  must('debugfs', ['-w', '-f', script, rootfs]);
  if (!must('debugfs', ['-R', `cat ${entry}`, rootfs]).includes('exits at start'))
    throw new Error(`${entry} was not replaced in ${rootfs}`);
  must('e2fsck', ['-fn', rootfs]);

  // rauc-bundle.sh reads the compatible from TARGET_DIR/etc/rauc/system.conf: the board's own.
  const target = join(o.outDir, 'target');
  mkdirSync(join(target, 'etc/rauc'), { recursive: true });
  cpSync(join(BOARD, 'x86_64/rootfs-overlay/etc/rauc/system.conf'), join(target, 'etc/rauc/system.conf'));
  must('sh', [join(BOARD, 'common/rauc-bundle.sh'), o.outDir, target, name, o.version], 60 * 60_000, {
    AIRPANEL_RAUC_KEY: join(IMAGE_KEYS_DIR, 'rauc-dev.key.pem'),
    AIRPANEL_RAUC_CERT: join(IMAGE_KEYS_DIR, 'rauc-dev.cert.pem'),
  });
  for (const f of readdirSync(o.outDir)) if (f !== basename(bundle)) rmSync(join(o.outDir, f), { recursive: true, force: true });
  return bundle;
}

/** A bundle of `version` whose Node entry exits with status 1 at once (a release that crashes at start). */
export function crashingBundle(version: string, workDir: string): string {
  const app = join(workDir, `crashing-app-${version}`);
  rmSync(app, { recursive: true, force: true });
  cpSync(join(REPO, 'dist/app'), app, { recursive: true });
  writeFileSync(join(app, 'node-main.js'), "process.stderr.write('crashing test release: exits at start\\n');\nprocess.exit(1);\n");
  const out = join(workDir, `airpanel-${version}-crashing.tar.gz`);
  must(TSX, [join(REPO, 'tools/release/cli.ts'), 'bundle', '--version', version, '--in', app, '--node-main', 'node-main.js', '--out', out]);
  return out;
}

/** The app bundle of `version` made from dist/app as it is (what a release manager publishes). */
export function appBundle(version: string, workDir: string): string {
  const out = join(workDir, `airpanel-${version}.tar.gz`);
  must(TSX, [join(REPO, 'tools/release/cli.ts'), 'bundle', '--version', version, '--out', out]);
  return out;
}

/** An ext4 disk image holding `files` at its root (hard links when possible: no copy of 500 MiB). */
export function diskWithFiles(files: string[], diskFile: string): string {
  const dir = `${diskFile}.d`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const f of files) {
    const target = join(dir, basename(f));
    try {
      linkSync(f, target);
    } catch {
      cpSync(f, target);
    }
    bytes += statSync(f).size;
  }
  const mib = Math.ceil((bytes * 1.1) / 2 ** 20) + 64;
  rmSync(diskFile, { force: true });
  must('mkfs.ext4', ['-q', '-F', '-L', 'boot-test-files', '-d', dir, diskFile, `${mib}M`]);
  rmSync(dir, { recursive: true, force: true });
  return diskFile;
}
