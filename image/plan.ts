/**
 * What the Debian image is made of, as data: the package list, the mmdebstrap command, the
 * cache key, and the files the build writes into the root filesystem that are not board files
 * (the host EnvironmentFile, fstab, the /var factory). Pure functions, no I/O: the build
 * (build.ts) runs them, the unit test (plan.test.ts) checks them without a network.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Debian 13; the mirror is the live archive, so builds are not bit-reproducible. */
export const DEFAULT_SUITE = 'trixie';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

/** Each package and why the panel needs it (dependencies come along by themselves). */
export const PACKAGES: ReadonlyArray<readonly [name: string, why: string]> = [
  ['systemd', 'init, networkd, journald, the watchdog contract of airpanel.service'],
  ['systemd-sysv', '/sbin/init → systemd'],
  ['systemd-resolved', 'DNS (LLMNR and mDNS off: resolved.conf.d of the board)'],
  ['systemd-timesyncd', 'time from NTP'],
  ['udev', 'devices for cage (DRM, input) and /dev/disk/by-partlabel for RAUC'],
  ['dbus', 'RAUC is a D-Bus service; `rauc status mark-good` talks to it'],
  ['linux-image-amd64', 'the kernel (6.12), booted by GRUB from /boot of the slot'],
  ['initramfs-tools', 'the initramfs: Debian builds ext4 and the disk drivers as modules'],
  ['e2fsprogs', 'fsck.ext4 in the initramfs and for /data'],
  ['fdisk', 'sfdisk: grow-data grows the data partition to the end of the disk (board overlay)'],
  ['dosfstools', 'fsck.vfat for the EFI system partition'],
  ['kmod', 'modprobe'],
  ['nodejs', 'the runtime of the OTA loader and of the Node kiosk host (/usr/bin/node)'],
  ['chromium', 'the kiosk window (/usr/bin/chromium)'],
  ['cage', 'the Wayland kiosk compositor airpanel.service runs'],
  ['seatd', 'gives cage the seat (no logind session)'],
  ['rauc', 'A/B OS updates (bootloader=grub)'],
  ['rauc-service', "RAUC's D-Bus service (rauc.service), used by mark-good"],
  ['grub-common', 'grub-editenv for RAUC, grub-mkimage for the EFI binary'],
  ['grub-efi-amd64-bin', "GRUB's x86_64-efi modules the EFI binary is made from"],
  ['fonts-dejavu-core', 'fallback fonts'],
  ['fonts-liberation', 'metric-compatible sans/serif fonts'],
  ['fonts-noto-color-emoji', 'emoji in operator messages'],
  ['ca-certificates', 'TLS to the backend and the release feed'],
];

/**
 * Files dpkg leaves out: documentation and translations (the panel shows no shell text).
 * Licence files stay. Part of the cache key: changing them changes the base.
 */
export const DPKG_EXCLUDES: readonly string[] = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
];

/**
 * The initramfs hook cannot see the root's filesystem type inside a chroot: without this, the
 * initramfs lacks fsck.ext4 ("fsck not present") and the kernel package's initramfs is wrong.
 * Written before any package installs, so the kernel's postinst builds the right one once.
 */
export const SETUP_HOOK = 'mkdir -p "$1/etc/initramfs-tools/conf.d" && echo FSTYPE=ext4 > "$1/etc/initramfs-tools/conf.d/airpanel-fstype"';

export interface BaseSpec {
  suite: string;
  mirror: string;
  packages: readonly string[];
}

export function defaultBaseSpec(mirror = DEFAULT_MIRROR, suite = DEFAULT_SUITE): BaseSpec {
  return { suite, mirror, packages: PACKAGES.map(([name]) => name) };
}

/** mmdebstrap's command line for the base root filesystem, written as a tar to `outFile`. */
export function mmdebstrapArgs(spec: BaseSpec, outFile: string): string[] {
  return [
    '--variant=apt',
    '--mode=root',
    '--format=tar',
    '--architectures=amd64',
    `--setup-hook=${SETUP_HOOK}`,
    ...DPKG_EXCLUDES.map((o) => `--dpkgopt=${o}`),
    `--include=${[...spec.packages].join(',')}`,
    spec.suite,
    outFile,
    spec.mirror,
  ];
}

/**
 * The cache key of a base: everything that changes what mmdebstrap produces (suite, mirror,
 * package set in any order, dpkg excludes, setup hook). The archive moves on, so a key is
 * also a snapshot in time: `--refresh-base` builds it anew.
 */
export function baseCacheKey(spec: BaseSpec): string {
  const canonical = JSON.stringify({
    suite: spec.suite,
    mirror: spec.mirror.replace(/\/+$/, ''),
    packages: [...new Set(spec.packages)].sort(),
    dpkg: DPKG_EXCLUDES,
    setup: SETUP_HOOK,
    format: 1,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function baseCacheFileName(spec: BaseSpec): string {
  return `base-${spec.suite}-${baseCacheKey(spec)}.tar`;
}

/**
 * The host EnvironmentFile airpanel.service reads (one unit for both hosts): on this image the
 * OTA loader and the app run on Debian's Node, and the app opens Debian's Chromium as the
 * kiosk window under cage.
 */
export const HOST_ENV_PATH = '/usr/lib/airpanel/host.env';

/**
 * Chromium switches that are this image's own (the Node kiosk host adds the kiosk switches
 * itself, src-main/headless/kiosk/chromium-window.ts `kioskChromiumArgs`, including the
 * in-process network service that avoided blank pages under load): Wayland under cage, and
 * software compositing, as a QEMU or small panel PC without a usable GPU needs.
 */
export const CHROMIUM_FLAGS: readonly string[] = ['--ozone-platform=wayland', '--disable-gpu'];

export function hostEnv(): string {
  return [
    '# The kiosk host of the Debian image (written by `npm run image`, image/plan.ts).',
    '# airpanel.service reads it; the Buildroot image ships its own for the Electron host.',
    'AIRPANEL_HOST=node',
    'AIRPANEL_RUNTIME=/usr/bin/node',
    // What the runtime runs first: the OTA loader, which verifies and starts the bundle.
    'AIRPANEL_LOADER=/usr/lib/airpanel/loader/main.js',
    // Arguments for the runtime before the bundle's entry: none for Node.
    'AIRPANEL_RUNTIME_ARGS=',
    // Read by the Node kiosk host (src-main/headless/kiosk/main.ts).
    'AIRPANEL_CHROMIUM=/usr/bin/chromium',
    `AIRPANEL_CHROMIUM_FLAGS=${CHROMIUM_FLAGS.join(' ')}`,
    // cage: software rendering without probing for a GPU that a QEMU or small PC lacks.
    'WLR_RENDERER=pixman',
    '',
  ].join('\n');
}

/**
 * fstab: the root stays as the kernel mounted it (read-only, `ro` on GRUB's command line);
 * /var is a tmpfs filled from /usr/share/factory/var at every boot, as on the Buildroot image
 * (BR2_INIT_SYSTEMD_VAR_FACTORY). The data and EFI partitions have mount units of the board.
 */
export function fstab(): string {
  return ['# <file system> <mount point> <type> <options> <dump> <pass>', 'tmpfs /var tmpfs mode=0755,nosuid,nodev 0 0', ''].join('\n');
}

export interface FactoryEntry {
  /** Path under /var, e.g. "lib/systemd" (no leading slash). */
  path: string;
  /** Symlink target when the entry is a symlink. */
  symlink?: string;
}

/**
 * What of the factory /var is not copied into the tmpfs at boot: the package manager's state
 * (nothing installs packages on a read-only root) and caches.
 */
export const VAR_FACTORY_SKIP: readonly string[] = ['lib/dpkg', 'lib/apt', 'cache/apt', 'cache/debconf', 'log'];

/**
 * tmpfiles.d lines that fill the /var tmpfs from /usr/share/factory/var at boot, like
 * Buildroot's skeleton-init-systemd does: `C!` copies a directory or file, `L+!` recreates a
 * symlink with its own target.
 */
export function varFactoryTmpfiles(entries: readonly FactoryEntry[]): string {
  const lines = ['# /var is a tmpfs; fill it from /usr/share/factory/var at boot (image/plan.ts).'];
  for (const e of [...entries].sort((a, b) => a.path.localeCompare(b.path))) {
    if (VAR_FACTORY_SKIP.some((s) => e.path === s || e.path.startsWith(`${s}/`))) continue;
    if (/\s/.test(e.path)) throw new Error(`unexpected white space in /var/${e.path}`);
    lines.push(e.symlink !== undefined ? `L+! /var/${e.path} - - - - ${e.symlink}` : `C! /var/${e.path} - - - -`);
  }
  return `${lines.join('\n')}\n`;
}

/** One line of a Buildroot makeusers table (buildroot/board/airpanel/common/users.txt). */
export const UserLine = z.object({
  name: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
  uid: z.number().int().min(1).max(65533),
  group: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
  gid: z.number().int().min(1).max(65533),
  /** "*": no password (login disabled); anything else is refused here. */
  password: z.literal('*'),
  home: z.string(),
  shell: z.string(),
  groups: z.array(z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/)),
  comment: z.string(),
});
export type UserLine = z.infer<typeof UserLine>;

/**
 * Parses the makeusers table (docs/manual/makeusers-syntax.adoc): name uid group gid password
 * home shell groups comment; "-" means none. Only what the board uses is accepted.
 */
export function parseUsersTable(text: string): UserLine[] {
  const users: UserLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    if (f.length < 8) throw new Error(`users table: too few fields in "${line}"`);
    users.push(
      UserLine.parse({
        name: f[0],
        uid: Number(f[1]),
        group: f[2],
        gid: Number(f[3]),
        password: f[4],
        home: f[5],
        shell: f[6],
        groups: f[7] === '-' ? [] : f[7]!.split(','),
        comment: f.slice(8).join(' '),
      }),
    );
  }
  return users;
}

/** GRUB's built-in modules, taken from the Buildroot defconfig so both images boot the same way. */
export function grubModulesFromDefconfig(defconfig: string): string[] {
  const m = /^BR2_TARGET_GRUB2_BUILTIN_MODULES_EFI="([^"]*)"$/m.exec(defconfig);
  if (!m) throw new Error('no BR2_TARGET_GRUB2_BUILTIN_MODULES_EFI in the defconfig');
  return m[1]!.split(/\s+/).filter(Boolean);
}

/** Size of rootfs.ext4 for a tree of `usedBytes`: room for ext4's metadata plus some slack. */
export function rootfsSizeMiB(usedBytes: number, slotMiB: number): number {
  const mib = Math.ceil((usedBytes * 1.12) / 2 ** 20) + 96;
  if (mib > slotMiB) throw new Error(`the root filesystem needs ${mib} MiB, more than a slot (${slotMiB} MiB): raise --slot-size`);
  return mib;
}
