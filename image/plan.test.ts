import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CHROMIUM_FLAGS,
  PACKAGES,
  baseCacheFileName,
  baseCacheKey,
  defaultBaseSpec,
  fstab,
  grubModulesFromDefconfig,
  hostEnv,
  mmdebstrapArgs,
  parseUsersTable,
  rootfsSizeMiB,
  varFactoryTmpfiles,
} from './plan.js';

const board = (p: string): string => readFileSync(new URL(`../buildroot/${p}`, import.meta.url), 'utf8');

describe('base root filesystem', () => {
  it('gives the same cache key whatever the package order or a trailing slash on the mirror', () => {
    const a = defaultBaseSpec();
    const b = { ...a, packages: [...a.packages].reverse(), mirror: `${a.mirror}/` };
    expect(baseCacheKey(b)).toBe(baseCacheKey(a));
    expect(baseCacheKey(a)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes the key with the package set, the suite and the mirror', () => {
    const a = defaultBaseSpec();
    const keys = new Set([
      baseCacheKey(a),
      baseCacheKey({ ...a, packages: [...a.packages, 'htop'] }),
      baseCacheKey({ ...a, packages: a.packages.filter((p) => p !== 'chromium') }),
      baseCacheKey({ ...a, suite: 'forky' }),
      baseCacheKey({ ...a, mirror: 'http://127.0.0.1:3142/debian' }),
    ]);
    expect(keys.size).toBe(5);
    expect(baseCacheFileName(a)).toBe(`base-trixie-${baseCacheKey(a)}.tar`);
  });

  it('installs what the board units and the Node kiosk host start', () => {
    const names = PACKAGES.map(([n]) => n);
    for (const p of [
      'systemd',
      'linux-image-amd64',
      'nodejs',
      'chromium',
      'cage',
      'seatd',
      'rauc',
      'e2fsprogs',
      'grub-common',
      'grub-efi-amd64-bin',
      'fonts-noto-color-emoji',
    ]) {
      expect(names).toContain(p);
    }
    expect(new Set(names).size).toBe(names.length);
    for (const [, why] of PACKAGES) expect(why.length).toBeGreaterThan(5);
  });

  it('asks mmdebstrap for a tar of trixie with the initramfs told the root is ext4 before the kernel installs', () => {
    const args = mmdebstrapArgs(defaultBaseSpec(), '/c/base.tar');
    expect(args.slice(-3)).toEqual(['trixie', '/c/base.tar', 'http://deb.debian.org/debian']);
    expect(args).toContain('--format=tar');
    const hook = args.find((a) => a.startsWith('--setup-hook='));
    expect(hook).toContain('FSTYPE=ext4');
    expect(hook).toContain('/etc/initramfs-tools/conf.d/');
    const include = args.find((a) => a.startsWith('--include='))!;
    expect(include.slice('--include='.length).split(',')).toEqual(PACKAGES.map(([n]) => n));
    expect(args.filter((a) => a.startsWith('--dpkgopt=path-include=/usr/share/doc/*/copyright'))).toHaveLength(1);
  });
});

describe('files written into the root', () => {
  it('host.env names the Node runtime, the node host and the Chromium flags', () => {
    const env = Object.fromEntries(
      hostEnv()
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    // The names airpanel.service and the Node kiosk host read (the unit's header lists them).
    expect(env).toMatchObject({
      AIRPANEL_HOST: 'node',
      AIRPANEL_RUNTIME: '/usr/bin/node',
      AIRPANEL_LOADER: '/usr/lib/airpanel/loader/main.js',
      AIRPANEL_RUNTIME_ARGS: '',
      AIRPANEL_CHROMIUM: '/usr/bin/chromium',
    });
    expect(env.AIRPANEL_CHROMIUM_FLAGS!.split(' ')).toEqual(CHROMIUM_FLAGS);
    expect(CHROMIUM_FLAGS).toContain('--ozone-platform=wayland');
    expect(CHROMIUM_FLAGS).not.toContain('--no-sandbox');
    // systemd's EnvironmentFile: no quotes needed when values have no quotes or backslashes.
    expect(hostEnv()).not.toMatch(/["'\\]/);
  });

  it('fstab mounts only /var (tmpfs); root stays read-only as the kernel mounted it', () => {
    const lines = fstab()
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toEqual(['tmpfs /var tmpfs mode=0755,nosuid,nodev 0 0']);
  });

  it('fills the /var tmpfs from the factory copy, skipping the package manager and logs', () => {
    const text = varFactoryTmpfiles([
      { path: 'lib/systemd/catalog' },
      { path: 'lib/dbus' },
      { path: 'run', symlink: '/run' },
      { path: 'lib/dpkg' },
      { path: 'lib/apt' },
      { path: 'cache/apt' },
      { path: 'log' },
      { path: 'tmp' },
      { path: '.updated' },
    ]);
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toEqual([
      'C! /var/.updated - - - -',
      'C! /var/lib/dbus - - - -',
      'C! /var/lib/systemd/catalog - - - -',
      'L+! /var/run - - - - /run',
      'C! /var/tmp - - - -',
    ]);
    expect(() => varFactoryTmpfiles([{ path: 'lib/a b' }])).toThrow(/white space/);
  });

  it('sizes rootfs.ext4 with slack and refuses a root larger than a slot', () => {
    expect(rootfsSizeMiB(1000 * 2 ** 20, 2048)).toBe(1120 + 96);
    expect(() => rootfsSizeMiB(1900 * 2 ** 20, 2048)).toThrow(/--slot-size/);
  });
});

describe('board files read as the Buildroot image reads them', () => {
  it('parses the kiosk user of users.txt', () => {
    expect(parseUsersTable(board('board/airpanel/common/users.txt'))).toEqual([
      {
        name: 'airpanel',
        uid: 1000,
        group: 'airpanel',
        gid: 1000,
        password: '*',
        home: '-',
        shell: '-',
        groups: ['video', 'render', 'input', 'seat', 'audio', 'dialout'],
        comment: 'Airpanel kiosk',
      },
    ]);
  });

  it('refuses a users line with a password or too few fields', () => {
    expect(() => parseUsersTable('x 1000 x 1000 =secret - - - c')).toThrow();
    expect(() => parseUsersTable('x 1000 x 1000')).toThrow(/too few fields/);
  });

  it('takes GRUB modules from the x86_64 defconfig, with what grub.cfg uses', () => {
    const modules = grubModulesFromDefconfig(board('configs/airpanel_x86_64_defconfig'));
    for (const m of ['linux', 'ext2', 'fat', 'part_gpt', 'normal', 'loadenv', 'regexp', 'test']) expect(modules).toContain(m);
    expect(() => grubModulesFromDefconfig('BR2_x86_64=y\n')).toThrow(/GRUB2_BUILTIN_MODULES_EFI/);
  });
});
