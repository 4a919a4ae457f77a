// Builds a stand-in of what Buildroot produces for the x86_64 panel, from the REAL external
// tree: the rootfs overlays, post-build.sh, the package's permission table and the users
// table, with the Electron runtime, the runtime app's bundled main.mjs (its package.json and
// runtime.json are the real ones), the factory bundle, GRUB's EFI binary and the kernel
// replaced by placeholders.
// Then post-image.sh + genimage.cfg assemble the disk image under fakeroot.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_RUNTIME_CONFIG } from '@airpanel/panel/loader/runtime-app/config';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const EXTERNAL = join(REPO, 'buildroot');
export const BOARD = join(EXTERNAL, 'board/airpanel');
const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a real program (no shell), 60 s at most; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
    ...options,
    env: { ...process.env, PATH, LC_ALL: 'C', ...options.env },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Like run, but fails with the tool's output when it exits non-zero. */
export function must(cmd: string, args: string[], options: SpawnSyncOptions = {}): RunResult {
  const r = run(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function has(tool: string): boolean {
  return run('sh', ['-c', `command -v ${tool}`]).status === 0;
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A self-signed code-signing certificate for RAUC (openssl, in `dir`). */
export function makeSigningPair(dir: string, name = 'test'): { key: string; cert: string } {
  const key = join(dir, `${name}.key.pem`);
  const cert = join(dir, `${name}.cert.pem`);
  must('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    `/O=Airpanel test/CN=${name}`,
    '-addext',
    'keyUsage=digitalSignature',
    '-addext',
    'extendedKeyUsage=codeSigning',
  ]);
  return { key, cert };
}

function stub(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n# stand-in for the real program in the Buildroot image\nexit 0\n');
  chmodSync(path, 0o755);
}

/** Placeholders for what package/airpanel installs under /usr/lib/airpanel and /opt/airpanel/resources/app (paths as in airpanel.mk). */
export const STAND_IN_AIRPANEL_FILES: Record<string, string> = {
  // The runtime's app (package airpanel installs dist/loader/runtime-app as resources/app).
  'opt/airpanel/resources/app/main.mjs': '// placeholder for dist/loader/runtime-app/main.mjs (npx tsx src-main/loader/build.ts)\n',
  'opt/airpanel/resources/app/package.json': readFileSync(join(REPO, 'src-main/loader/runtime-app/package.json'), 'utf8'),
  'opt/airpanel/resources/app/runtime.json': `${JSON.stringify(IMAGE_RUNTIME_CONFIG, null, 2)}\n`,
  'usr/lib/airpanel/factory/bundle.json': `${JSON.stringify({ placeholder: 'the factory bundle: tools/release bundle, extracted' })}\n`,
  'usr/lib/airpanel/factory/main.js': "// placeholder for the factory bundle's main.js\n",
  'usr/lib/airpanel/release-keys.json': `${JSON.stringify({ keys: [{ keyId: 'placeholder', publicKey: 'placeholder' }] })}\n`,
  // The package's own file, as airpanel.mk installs it (airpanel.service reads it).
  'usr/lib/airpanel/host.env': readFileSync(join(EXTERNAL, 'package/airpanel/host.env'), 'utf8'),
};

/** The version the stand-in image, its factory bundle and its release floor carry. */
export const STAND_IN_IMAGE_VERSION = '0.1.0-test';

/** Where package airpanel installs the release floor (airpanel.mk, AIRPANEL_INSTALL_RELEASE_FLOOR). */
export const RELEASE_FLOOR_PATH = 'usr/lib/airpanel/release-floor.json';

/**
 * buildroot/Makefile's release-floor target (image/release-floor-cli.ts), writing to `out`,
 * with only the variables given: none of the caller's AIRPANEL_* or RELEASE leak in.
 */
export function makeReleaseFloor(out: string, vars: Record<string, string> = {}): RunResult {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIRPANEL_') && k !== 'RELEASE'));
  return run(
    'make',
    [
      '--no-print-directory',
      '-C',
      EXTERNAL,
      'release-floor',
      `RELEASE_FLOOR_OUT=${out}`,
      ...Object.entries({ AIRPANEL_IMAGE_VERSION: STAND_IN_IMAGE_VERSION, ...vars }).map(([k, v]) => `${k}=${v}`),
    ],
    { env: clean as Record<string, string> },
  );
}

/** A placeholder floor for stand-in roots whose test does not look at it (buildImage makes a real one). */
const STAND_IN_RELEASE_FLOOR = `${JSON.stringify({ format: 'airpanel-release-floor/1', counterFloor: 0, factoryVersion: STAND_IN_IMAGE_VERSION })}\n`;

/** Programs the Airpanel units name that the stand-in root does not get from the overlay. */
export const STUB_PROGRAMS = ['/usr/bin/cage', '/usr/bin/seatd', '/usr/bin/rauc', '/usr/bin/systemd-tmpfiles', '/usr/bin/journalctl'];

/**
 * A root directory where `systemd-analyze verify --root` can load the Airpanel units: the
 * overlays, the host's systemd units (systemd-fsck@, journal-flush, targets), units of
 * Buildroot packages absent from Debian (rauc, seatd, as those packages install them) and
 * stub programs.
 */
export type Board = 'x86_64' | 'rpi4';
export const BOARDS: Board[] = ['x86_64', 'rpi4'];

/** The post-build scripts a board's defconfig names (BR2_ROOTFS_POST_BUILD_SCRIPT), in order. */
export function postBuildScripts(board: Board): string[] {
  const defconfig = readFileSync(join(EXTERNAL, `configs/airpanel_${board}_defconfig`), 'utf8');
  const list = /^BR2_ROOTFS_POST_BUILD_SCRIPT="(.*)"$/m.exec(defconfig)?.[1] ?? '';
  return list
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => s.replace('$(BR2_EXTERNAL_AIRPANEL_PATH)', EXTERNAL));
}

/**
 * The stand-in root of a board; `binaries` is BINARIES_DIR (made with placeholders when
 * missing), which Buildroot has filled before the post-build scripts run.
 */
export function makeStandInTarget(
  target: string,
  keyring: string,
  board: Board = 'x86_64',
  binaries = join(dirname(target), 'images'),
  releaseFloor = STAND_IN_RELEASE_FLOOR,
): void {
  if (!existsSync(binaries)) standInBinaries(binaries, board);
  cpSync(join(BOARD, 'common/rootfs-overlay'), target, { recursive: true });
  cpSync(join(BOARD, board, 'rootfs-overlay'), target, { recursive: true });
  cpSync('/lib/systemd/system', join(target, 'usr/lib/systemd/system'), { recursive: true, dereference: false });
  writeFileSync(
    join(target, 'usr/lib/systemd/system/seatd.service'),
    '[Unit]\nDescription=Seat management daemon\n\n[Service]\nType=simple\nExecStart=/usr/bin/seatd -g video\nRestart=always\nRestartSec=1\n\n[Install]\nWantedBy=multi-user.target\n',
  );
  writeFileSync(
    join(target, 'usr/lib/systemd/system/rauc.service'),
    '[Unit]\nDescription=Rauc Update Service\n\n[Service]\nType=dbus\nBusName=de.pengutronix.rauc\nExecStart=/usr/bin/rauc --mount=/run/rauc service\n',
  );
  for (const p of STUB_PROGRAMS) stub(join(target, p));
  // What package/airpanel installs: the runtime as electron-builder lays it out, with the
  // runtime app (the loader) instead of app.asar; the factory bundle, the release keys.
  stub(join(target, 'opt/airpanel/airpanel'));
  stub(join(target, 'opt/airpanel/chrome-sandbox'));
  writeFileSync(join(target, 'opt/airpanel/resources.pak'), 'placeholder');
  for (const [rel, content] of Object.entries(STAND_IN_AIRPANEL_FILES)) {
    mkdirSync(dirname(join(target, rel)), { recursive: true });
    writeFileSync(join(target, rel), content);
  }
  writeFileSync(join(target, RELEASE_FLOOR_PATH), releaseFloor);
  mkdirSync(join(target, 'boot'), { recursive: true });
  writeFileSync(join(target, board === 'x86_64' ? 'boot/bzImage' : 'boot/Image'), 'placeholder kernel');
  // BR2_LINUX_KERNEL_INSTALL_TARGET also puts the device trees of BR2_LINUX_KERNEL_INTREE_DTS_NAME in /boot.
  if (board === 'rpi4') for (const dtb of RPI4_DTBS) writeFileSync(join(target, 'boot', dtb), `placeholder ${dtb}`);
  // What Buildroot's mkusers makes of users.txt (plus the groups systemd's packages add).
  mkdirSync(join(target, 'etc'), { recursive: true });
  const users = readFileSync(join(BOARD, 'common/users.txt'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/));
  writeFileSync(
    join(target, 'etc/passwd'),
    ['root:x:0:0:root:/root:/bin/sh', ...users.map(([name, uid, , gid]) => `${name}:x:${uid}:${gid}::/:/bin/false`)].join('\n') + '\n',
  );
  writeFileSync(
    join(target, 'etc/group'),
    ['root:x:0:', 'systemd-journal:x:190:', ...users.map(([, , group, gid]) => `${group}:x:${gid}:`)].join('\n') + '\n',
  );
  for (const script of postBuildScripts(board)) {
    must('sh', [script, target], {
      env: { TARGET_DIR: target, BINARIES_DIR: binaries, AIRPANEL_RAUC_KEYRING: keyring, BR2_EXTERNAL_AIRPANEL_PATH: EXTERNAL },
    });
  }
}

const RPI4_DTBS = ['bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4.dtb'];

/** `/path type mode uid gid …` lines of AIRPANEL_PERMISSIONS in airpanel.mk (makedevs syntax). */
export function packagePermissions(): { path: string; mode: number; uid: number; gid: number }[] {
  const mk = readFileSync(join(EXTERNAL, 'package/airpanel/airpanel.mk'), 'utf8');
  const block = /define AIRPANEL_PERMISSIONS\n([\s\S]*?)\nendef/.exec(mk)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [path, , mode, uid, gid] = l.split(/\s+/);
      return { path: path!, mode: parseInt(mode!, 8), uid: Number(uid), gid: Number(gid) };
    });
}

export interface BuiltImage {
  board: Board;
  dir: string;
  target: string;
  binaries: string;
  image: string;
  bundle: string;
  signer: { key: string; cert: string };
  sizes: { boot: number; slot: number; data: number };
  remove: () => void;
}

const MiB = 1024 * 1024;

/** What Buildroot leaves in BINARIES_DIR besides rootfs.ext4, as placeholders (boot.scr for real). */
function standInBinaries(binaries: string, board: Board): void {
  const put = (rel: string, content: string | Buffer) => {
    mkdirSync(dirname(join(binaries, rel)), { recursive: true });
    writeFileSync(join(binaries, rel), content);
  };
  if (board === 'x86_64') {
    put('efi-part/EFI/BOOT/bootx64.efi', 'placeholder GRUB EFI binary');
    return;
  }
  for (const f of [
    'rpi-firmware/start4.elf',
    'rpi-firmware/fixup4.dat',
    'rpi-firmware/overlays/vc4-kms-v3d-pi4.dtbo',
    'rpi-firmware/overlays/disable-bt.dtbo',
    'rpi-firmware/overlays/i2c-rtc.dtbo',
    ...RPI4_DTBS,
    'u-boot.bin',
  ]) {
    put(f, `placeholder ${f}`);
  }
  put('rpi-firmware/config.txt', readFileSync(join(BOARD, 'rpi4/config.txt')));
  // What BR2_PACKAGE_HOST_UBOOT_TOOLS_BOOT_SCRIPT does with boot.cmd.
  must('mkimage', [
    '-A',
    'arm64',
    '-O',
    'linux',
    '-T',
    'script',
    '-C',
    'none',
    '-n',
    'airpanel boot',
    '-d',
    join(BOARD, 'rpi4/boot.cmd'),
    join(binaries, 'boot.scr'),
  ]);
}

/**
 * The whole image of a board from the stand-in: rootfs.ext4 (mkfs.ext4 -d under fakeroot, with
 * the package's permissions applied), placeholder boot binaries, then the real post-image.sh
 * (genimage under fakeroot, grubenv on x86_64, signed RAUC bundle).
 */
export function buildImage(board: Board = 'x86_64', floorVars: Record<string, string> = {}): BuiltImage {
  const t = tempDir(`airpanel-image-${board}-`);
  try {
    const target = join(t.dir, 'target');
    const binaries = join(t.dir, 'images');
    const signer = makeSigningPair(t.dir, 'signer');
    standInBinaries(binaries, board);
    // The release floor as the Makefile makes it; the package copies that file into the root.
    const floorFile = join(t.dir, 'release-floor.json');
    const floor = makeReleaseFloor(floorFile, floorVars);
    if (floor.status !== 0) throw new Error(`make release-floor exited ${floor.status}:\n${floor.stdout}\n${floor.stderr}`);
    makeStandInTarget(target, signer.cert, board, binaries, readFileSync(floorFile, 'utf8'));

    const perms = packagePermissions().map(
      (p) => `chown ${p.uid}:${p.gid} '${target}${p.path}' && chmod ${p.mode.toString(8)} '${target}${p.path}'`,
    );
    must('fakeroot', [
      '--',
      'sh',
      '-ec',
      [`chown -R 0:0 '${target}'`, ...perms, `mkfs.ext4 -q -F -L airpanel-root -d '${target}' '${binaries}/rootfs.ext4' 24M`].join('\n'),
    ]);

    const sizes = { boot: 40 * MiB, slot: 32 * MiB, data: 16 * MiB };
    must('fakeroot', ['--', join(BOARD, board, 'post-image.sh'), binaries], {
      env: {
        TARGET_DIR: target,
        BUILD_DIR: t.dir,
        AIRPANEL_IMAGE_VERSION: STAND_IN_IMAGE_VERSION,
        AIRPANEL_EFI_SIZE: `${sizes.boot / MiB}M`,
        AIRPANEL_BOOT_SIZE: `${sizes.boot / MiB}M`,
        AIRPANEL_SLOT_SIZE: `${sizes.slot / MiB}M`,
        AIRPANEL_DATA_SIZE: `${sizes.data / MiB}M`,
        AIRPANEL_RAUC_KEY: signer.key,
        AIRPANEL_RAUC_CERT: signer.cert,
      },
    });
    return {
      board,
      dir: t.dir,
      target,
      binaries,
      signer,
      sizes,
      remove: t.remove,
      image: join(binaries, `airpanel-${board}.img`),
      bundle: join(binaries, `airpanel-${board}-${STAND_IN_IMAGE_VERSION}.raucb`),
    };
  } catch (e) {
    t.remove();
    throw e;
  }
}

/**
 * The image's /etc/rauc/system.conf for `rauc --conf` on this machine: unchanged except that
 * RAUC's data directory (/data/rauc on the panel, created at start) points into the test dir,
 * so the tests also run without root.
 */
export function raucConfForHost(img: BuiltImage): string {
  const conf = readFileSync(join(img.target, 'etc/rauc/system.conf'), 'utf8');
  if (!/^data-directory=\/data\/rauc$/m.test(conf)) throw new Error('system.conf: expected data-directory=/data/rauc');
  const path = join(img.dir, 'system.conf');
  writeFileSync(path, conf.replace(/^data-directory=.*$/m, `data-directory=${join(img.dir, 'rauc-data')}`));
  return path;
}
