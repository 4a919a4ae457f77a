// Static checks of the OS image's scripts and units with Debian's own tools: shellcheck on
// every shell script of buildroot/ and provisioning/, systemd-analyze verify on every unit
// and drop-in of the overlays, loaded inside a stand-in root (see image-fixture.ts).
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD, BOARDS, EXTERNAL, REPO, makeStandInTarget, must, run, tempDir } from './image-fixture.js';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === '.cache' || e.name === 'output' || e.name === 'node_modules' ? [] : walk(p);
    return e.isFile() ? [p] : [];
  });
}

/** Shell scripts: *.sh, and any file starting with a sh/bash shebang. */
function shellScripts(): string[] {
  return [...walk(EXTERNAL), ...walk(join(REPO, 'provisioning'))].filter(
    (f) => f.endsWith('.sh') || /^#!\s*\/(usr\/)?bin\/(env )?(ba)?sh\b/.test(readFileSync(f, 'utf8').slice(0, 40)),
  );
}

/** Unit files and drop-in directories of the common overlay plus one board's overlay. */
function overlayUnits(board: string): { unitFiles: string[]; dropInUnits: string[] } {
  const dirs = [join(BOARD, 'common/rootfs-overlay/etc/systemd/system'), join(BOARD, board, 'rootfs-overlay/etc/systemd/system')];
  const entries = dirs.flatMap((d) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  });
  return {
    unitFiles: [...new Set(entries.filter((f) => /\.(service|mount|timer|socket|target)$/.test(f)))],
    dropInUnits: [...new Set(entries.filter((f) => f.endsWith('.d')).map((d) => d.slice(0, -2)))],
  };
}

describe('shell scripts', () => {
  const scripts = shellScripts();

  it('finds the scripts of the image (post-build, post-image, mark-good, check-defconfig)', () => {
    const names = scripts.map((s) => relative(EXTERNAL, s));
    expect(names).toEqual(
      expect.arrayContaining([
        'board/airpanel/common/post-build.sh',
        'board/airpanel/x86_64/post-image.sh',
        'board/airpanel/common/rootfs-overlay/usr/libexec/airpanel/mark-good',
        'scripts/check-defconfig.sh',
      ]),
    );
  });

  it.each(scripts.map((s) => [relative(REPO, s), s]))('%s passes shellcheck', (_name, script) => {
    const r = run('shellcheck', ['--external-sources', script]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('are executable', () => {
    for (const s of scripts) expect(statSync(s).mode & 0o111, s).not.toBe(0);
  });
});

describe.each(BOARDS)('systemd units of the %s image (systemd-analyze verify --root)', (board) => {
  let root: ReturnType<typeof tempDir>;
  let target: string;
  const { unitFiles, dropInUnits } = overlayUnits(board);

  beforeAll(() => {
    root = tempDir('airpanel-units-');
    target = join(root.dir, 'target');
    writeFileSync(join(root.dir, 'keyring.pem'), 'placeholder keyring');
    makeStandInTarget(target, join(root.dir, 'keyring.pem'), board);
    // What systemd's timesyncd brings on both images (Buildroot's systemd package, Debian's
    // systemd-timesyncd): its user, and the program the host's unit names.
    appendFileSync(join(target, 'etc/passwd'), 'systemd-timesync:x:998:998::/:/bin/false\n');
    appendFileSync(join(target, 'etc/group'), 'systemd-timesync:x:998:\n');
    mkdirSync(join(target, 'lib/systemd'), { recursive: true });
    writeFileSync(join(target, 'lib/systemd/systemd-timesyncd'), '#!/bin/sh\n# stand-in\n', { mode: 0o755 });
  }, 60_000);
  afterAll(() => root?.remove());

  it('covers the kiosk, mark-good, data, first-boot and boot-partition units and the drop-ins', () => {
    expect(unitFiles).toEqual(
      expect.arrayContaining([
        'airpanel.service',
        'airpanel-mark-good.service',
        'data.mount',
        'airpanel-wipe-data.service',
        'airpanel-grow-data.service',
        'airpanel-machine-id.service',
        'var-lib-systemd-timesync.mount',
        board === 'x86_64' ? 'boot-efi.mount' : 'boot-firmware.mount',
      ]),
    );
    expect(dropInUnits).toEqual(
      expect.arrayContaining([
        'seatd.service',
        'rauc.service',
        'systemd-journal-flush.service',
        'systemd-timesyncd.service',
        'multi-user.target',
      ]),
    );
  });

  it.each([...unitFiles, ...dropInUnits])('%s verifies cleanly', (unit) => {
    const own = join(target, 'etc/systemd/system', unit);
    const path = unitFiles.includes(unit) ? own : join(target, 'usr/lib/systemd/system', unit);
    const r = run('systemd-analyze', ['verify', `--root=${target}`, '--man=no', path]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('enables every mount unit of the overlays and makes its mount point in the read-only root (post-build.sh)', () => {
    const mounts = unitFiles.filter((u) => u.endsWith('.mount'));
    expect(mounts).toContain(board === 'x86_64' ? 'boot-efi.mount' : 'boot-firmware.mount');
    for (const m of mounts) {
      expect(existsSync(join(target, 'etc/systemd/system/local-fs.target.wants', m)), m).toBe(true);
      const where = /^Where=(.*)$/m.exec(readFileSync(join(target, 'etc/systemd/system', m), 'utf8'))?.[1];
      expect(where, m).toMatch(/^\//);
      expect(statSync(join(target, where!)).isDirectory(), `${m}: ${where}`).toBe(true);
    }
    // Nothing else: /boot/efi is the PC's, /boot/firmware the Pi's.
    expect(existsSync(join(target, board === 'x86_64' ? 'boot/firmware' : 'boot/efi'))).toBe(false);
  });

  it('masks the CUPS daemon that the cups libraries bring, so no preset enables it (systemctl --root)', () => {
    for (const unit of ['cups.service', 'cups.socket', 'cups.path']) {
      const r = run('systemctl', [`--root=${target}`, 'is-enabled', unit]);
      expect(r.stdout.trim(), unit).toBe('masked');
    }
    // What Buildroot runs when it makes the root filesystem image: the mask survives it. (This
    // host's systemd 252 exits 1 listing every masked unit it skipped, Debian's own included.)
    expect(run('systemctl', [`--root=${target}`, 'preset-all']).stderr).toMatch(/cups\.service is masked/);
    expect(run('systemctl', [`--root=${target}`, 'is-enabled', 'cups.service']).stdout.trim()).toBe('masked');
    expect(run('systemctl', [`--root=${target}`, 'is-enabled', 'airpanel.service']).stdout.trim()).toBe('enabled');
  });

  it('catches a broken unit (the check is not vacuous)', () => {
    const bad = join(target, 'etc/systemd/system/broken.service');
    writeFileSync(bad, '[Unit]\nRequires=does-not-exist.service\n[Service]\nExecStart=/usr/bin/not-there\nWatchdogSecs=3\n');
    const r = run('systemd-analyze', ['verify', `--root=${target}`, '--man=no', bad]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/not-there|does-not-exist/);
  });

  it('the kiosk unit carries the watchdog and reboot contract the README documents', () => {
    const show = must('systemd-analyze', ['cat-config', `--root=${target}`, 'systemd/system/airpanel.service']).stdout;
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'WatchdogSec=30s',
      'Restart=always',
      'StartLimitAction=reboot',
      'User=airpanel',
      'ExecStopPost=/usr/libexec/airpanel/record-stop',
    ]) {
      expect(show).toContain(line);
    }
    const readme = readFileSync(join(EXTERNAL, 'README.md'), 'utf8');
    for (const word of ['NotifyAccess=all', 'WatchdogSec', 'WATCHDOG=1', 'READY=1', 'StartLimitAction=reboot'])
      expect(readme).toContain(word);
  });

  it("the kiosk unit's supplementary groups are the kiosk user's groups in users.txt, dialout (the own sensor's serial device) among them", () => {
    const unit = readFileSync(join(target, 'etc/systemd/system/airpanel.service'), 'utf8');
    const supplementary = /^SupplementaryGroups=(.*)$/m.exec(unit)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    const kiosk = readFileSync(join(BOARD, 'common/users.txt'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('airpanel '))
      ?.split(/\s+/);
    // makeusers: name uid group gid password home shell groups comment
    expect(kiosk?.[7]?.split(',').sort()).toEqual([...supplementary].sort());
    expect(supplementary).toContain('dialout');
  });

  it('the kiosk unit starts the OTA loader on the host host.env names, with paths the package installs and options the loader knows', () => {
    const unit = readFileSync(join(target, 'etc/systemd/system/airpanel.service'), 'utf8');
    const execStart = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit)?.[1]?.replace(/\\\n\s*/g, ' ') ?? '';
    const words = execStart.split(/\s+/).filter(Boolean);
    expect(words.slice(0, 5)).toEqual(['/usr/bin/cage', '-d', '--', '${AIRPANEL_RUNTIME}', '${AIRPANEL_LOADER}']);
    expect(unit).toMatch(/^EnvironmentFile=\/usr\/lib\/airpanel\/host\.env$/m);
    // Chromium's namespace sandbox needs no privileges: none may be gained.
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^RestrictSUIDSGID=yes$/m);
    expect(unit).not.toMatch(/^RestrictNamespaces=/m);
    const sep = words.indexOf('--', 3);
    const loaderArgs = words.slice(5, sep);
    expect(words.slice(sep + 1)).toEqual(['$AIRPANEL_RUNTIME_ARGS']);
    // Every option is one both loaders parse (parseArgs is strict: an unknown one stops them):
    // the Node host's loader/main.ts and the Electron runtime app's loader role.
    const flags = loaderArgs.filter((a) => a.startsWith('--'));
    expect(flags).toEqual(['--host', '--data-dir', '--factory-dir', '--runtime', '--health-deadline-ms', '--max-attempts']);
    for (const file of ['src-main/loader/main.ts', 'src-main/loader/runtime-app/loader-role.ts']) {
      const source = readFileSync(join(REPO, file), 'utf8');
      for (const f of flags) expect(source, `${file} ${f}`).toMatch(new RegExp(`^\\s+(?:'${f.slice(2)}'|${f.slice(2)}): \\{ type:`, 'm'));
    }
    const value = (f: string) => loaderArgs[loaderArgs.indexOf(f) + 1]!;
    expect(value('--host')).toBe('${AIRPANEL_HOST}');
    expect(value('--runtime')).toBe('${AIRPANEL_RUNTIME}');
    // The Buildroot image's host.env, as the package installs it: the Electron host, its runtime
    // app as the loader. No ELECTRON_RUN_AS_NODE: the RunAsNode fuse is off.
    const env = Object.fromEntries(
      readFileSync(join(target, 'usr/lib/airpanel/host.env'), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toEqual({
      AIRPANEL_HOST: 'electron',
      AIRPANEL_RUNTIME: '/opt/airpanel/airpanel',
      AIRPANEL_LOADER: '--airpanel-role=loader',
      AIRPANEL_RUNTIME_ARGS: '--ozone-platform=wayland',
      ELECTRON_OZONE_PLATFORM_HINT: 'wayland',
    });
    // The runtime app's paths are fixed in its runtime.json and it refuses a unit that names others.
    const runtimeConfig = JSON.parse(readFileSync(join(target, 'opt/airpanel/resources/app/runtime.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(runtimeConfig).toMatchObject({
      dataDir: value('--data-dir'),
      factoryDir: value('--factory-dir'),
      runtime: env.AIRPANEL_RUNTIME,
    });
    expect(value('--data-dir')).toBe('/data/airpanel');
    // The paths exist in the root as package/airpanel lays it out (the stand-in mirrors airpanel.mk).
    for (const p of [
      '/opt/airpanel/airpanel',
      `${value('--factory-dir')}/bundle.json`,
      env.AIRPANEL_RUNTIME!,
      '/opt/airpanel/resources/app/main.mjs',
      '/opt/airpanel/resources/app/package.json',
      runtimeConfig.keyring!,
      '/usr/lib/airpanel/release-keys.json',
      '/usr/lib/airpanel/host.env',
    ]) {
      expect(existsSync(join(target, p)), p).toBe(true);
    }
    const mk = readFileSync(join(EXTERNAL, 'package/airpanel/airpanel.mk'), 'utf8');
    for (const p of [
      '/usr/lib/airpanel/factory/',
      '/usr/lib/airpanel/release-keys.json',
      '/opt/airpanel/resources/app/',
      '/usr/lib/airpanel/host.env',
      'package.json main.mjs runtime.json',
    ]) {
      expect(mk, p).toContain(p);
    }
    // Nothing of the image starts Electron as a plain Node.
    for (const file of [
      'package/airpanel/airpanel.mk',
      'package/airpanel/host.env',
      'board/airpanel/common/rootfs-overlay/etc/systemd/system/airpanel.service',
    ]) {
      expect(readFileSync(join(EXTERNAL, file), 'utf8'), file).not.toMatch(/RUN_AS_NODE/);
    }
  });

  it('tmpfiles.d makes the data dirs for the kiosk user and links the journal to /data', () => {
    must('fakeroot', [
      '--',
      'sh',
      '-ec',
      [
        `systemd-tmpfiles --root='${target}' --create --prefix=/data --prefix=/var/log/journal`,
        `stat -c '%n %a %u %g' '${target}/data/airpanel' '${target}/data/airpanel/home' '${target}/data/airpanel/cache' '${target}/data/journal' '${target}/data/rauc' '${target}/data/timesync' > '${target}/stat.txt'`,
        `readlink '${target}/var/log/journal' >> '${target}/stat.txt'`,
      ].join('\n'),
    ]);
    const lines = readFileSync(join(target, 'stat.txt'), 'utf8').replaceAll(`${target}`, '').trim().split('\n');
    expect(lines).toEqual([
      '/data/airpanel 750 1000 1000',
      '/data/airpanel/home 700 1000 1000',
      '/data/airpanel/cache 750 1000 1000',
      '/data/journal 2755 0 190',
      '/data/rauc 755 0 0',
      '/data/timesync 755 998 998',
      '/data/journal',
    ]);
  });

  it('arms the hardware watchdog, caps the journal and opens no resolver port', () => {
    const conf = (p: string) => must('systemd-analyze', ['cat-config', `--root=${target}`, p]).stdout;
    // cat-config prints every drop-in in order: the last assignment is the one systemd uses.
    const last = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].at(-1)?.[1];
    const manager = conf('systemd/system.conf');
    // bcm2835_wdt cannot count 30 s (its maximum is ~15 s): the Pi keeps the driver's own timeout.
    expect(last(manager, 'RuntimeWatchdogSec')).toBe(board === 'rpi4' ? 'default' : '30s');
    expect(last(manager, 'RebootWatchdogSec')).toBe(board === 'rpi4' ? 'default' : '5min');
    expect(conf('systemd/journald.conf')).toMatch(/^SystemMaxUse=16M$/m);
    expect(conf('systemd/resolved.conf')).toMatch(/^LLMNR=no$/m);
    expect(conf('systemd/resolved.conf')).toMatch(/^MulticastDNS=no$/m);
  });
});

describe('first-boot units and what the boot loaders pass them', () => {
  const unit = (name: string) => readFileSync(join(BOARD, 'common/rootfs-overlay/etc/systemd/system', name), 'utf8');
  const loaders = [readFileSync(join(BOARD, 'x86_64/grub.cfg'), 'utf8'), readFileSync(join(BOARD, 'rpi4/boot.cmd'), 'utf8')];

  it.each(BOARDS)(
    "%s: every mount is fsck'd before it mounts: the data partition and the FAT boot partition (left dirty by a power cut)",
    (board) => {
      const mounts = [
        join(BOARD, 'common/rootfs-overlay/etc/systemd/system'),
        join(BOARD, board, 'rootfs-overlay/etc/systemd/system'),
      ].flatMap((d) =>
        readdirSync(d)
          .filter((f) => f.endsWith('.mount') && f !== 'var-lib-systemd-timesync.mount')
          .map((f) => join(d, f)),
      );
      expect(mounts.some((m) => /boot-(efi|firmware)\.mount$/.test(m))).toBe(true);
      for (const mount of mounts) {
        const text = readFileSync(mount, 'utf8');
        const escaped = must('systemd-escape', ['--path', /^What=(.*)$/m.exec(text)?.[1] ?? '']).stdout.trim();
        expect(text, mount).toContain(`Requires=systemd-fsck@${escaped}.service`);
        expect(text, mount).toContain(`After=systemd-fsck@${escaped}.service`);
      }
    },
  );

  it('the factory reset runs on the flag both boot loaders add for FACTORY_RESET=1, before /data is checked and mounted', () => {
    const wipe = unit('airpanel-wipe-data.service');
    const flag = /^ConditionKernelCommandLine=(.*)$/m.exec(wipe)?.[1];
    expect(flag).toBe('airpanel.factory_reset=1');
    for (const l of loaders) expect(l).toContain(` ${flag}"`);
    expect(wipe).toMatch(/^Before=systemd-fsck@dev-disk-by\\x2dlabel-airpanel\\x2ddata\.service data\.mount$/m);
    expect(wipe).toMatch(/^After=boot-efi\.mount boot-firmware\.mount$/m);
    expect(unit('data.mount')).toMatch(/^Wants=airpanel-wipe-data\.service airpanel-grow-data\.service$/m);
  });

  it('the machine id is stored only on boots whose kernel did not get the one both boot loaders pass', () => {
    expect(unit('airpanel-machine-id.service')).toMatch(/^ConditionKernelCommandLine=!systemd\.machine_id$/m);
    for (const l of loaders) expect(l).toMatch(/systemd\.machine_id=\$\{?MACHINE_ID\}?/);
    expect(readFileSync(join(BOARD, 'common/rootfs-overlay/etc/systemd/system/multi-user.target.d/10-airpanel.conf'), 'utf8')).toMatch(
      /^Wants=airpanel-machine-id\.service$/m,
    );
  });
});

describe.each(BOARDS)('airpanel_%s_defconfig: what the scripts and units run on the panel', (board) => {
  const defconfig = readFileSync(join(EXTERNAL, `configs/airpanel_${board}_defconfig`), 'utf8');
  const set = (symbol: string) => new RegExp(`^${symbol}=y$`, 'm').test(defconfig);

  it('has fsck.ext4 and mkfs.ext4, resize2fs, sfdisk/blockdev and partx (systemd-fsck, wipe-data, grow-data)', () => {
    for (const s of [
      'BR2_PACKAGE_E2FSPROGS',
      'BR2_PACKAGE_E2FSPROGS_RESIZE2FS',
      'BR2_PACKAGE_UTIL_LINUX_BINARIES',
      'BR2_PACKAGE_UTIL_LINUX_PARTX',
    ]) {
      expect(set(s), s).toBe(true);
    }
    expect(defconfig).not.toMatch(/^# BR2_PACKAGE_E2FSPROGS_FSCK is not set$/m);
    expect(set('BR2_PACKAGE_DOSFSTOOLS_FSCK_FAT'), 'fsck.vfat for the FAT boot partition').toBe(true);
  });

  it('has the boot loader environment tool of its board (RAUC, bootenv) and leaves the prebuilt runtime unstripped', () => {
    expect(set(board === 'x86_64' ? 'BR2_TARGET_GRUB2_INSTALL_TOOLS' : 'BR2_PACKAGE_LIBUBOOTENV')).toBe(true);
    expect(defconfig).toMatch(/^BR2_STRIP_EXCLUDE_DIRS="opt\/airpanel"$/m);
  });
});

describe('kernel fragments (on top of x86_64_defconfig / bcm2711_defconfig)', () => {
  const fragment = (board: string) =>
    Object.fromEntries(
      readFileSync(join(BOARD, board, 'linux.fragment'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('CONFIG_'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  it.each(BOARDS)('%s: RAUC verity bundles, streaming (`rauc install <URL>` needs NBD), the watchdog, user namespaces', (board) => {
    expect(fragment(board)).toMatchObject({
      CONFIG_BLK_DEV_LOOP: 'y',
      CONFIG_DM_VERITY: 'y',
      CONFIG_SQUASHFS: 'y',
      CONFIG_BLK_DEV_NBD: 'y',
      CONFIG_WATCHDOG: 'y',
      CONFIG_USER_NS: 'y',
      CONFIG_EXT4_FS: 'y',
      CONFIG_VFAT_FS: 'y',
    });
  });

  it('x86_64: the disks of small panel PCs built in (no initramfs), i915 a module (its firmware is in the root filesystem)', () => {
    const x86 = fragment('x86_64');
    for (const c of [
      'CONFIG_BLK_DEV_NVME',
      'CONFIG_MMC',
      'CONFIG_MMC_BLOCK',
      'CONFIG_MMC_SDHCI_PCI',
      'CONFIG_MMC_SDHCI_ACPI',
      'CONFIG_USB_XHCI_HCD',
      'CONFIG_USB_STORAGE',
    ])
      expect(x86[c], c).toBe('y');
    expect(x86.CONFIG_DRM_I915).toBe('m');
    const defconfig = readFileSync(join(EXTERNAL, 'configs/airpanel_x86_64_defconfig'), 'utf8');
    expect(defconfig).toMatch(/^BR2_PACKAGE_LINUX_FIRMWARE_I915=y$/m);
  });
});
