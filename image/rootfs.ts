/**
 * Turns the cached Debian base (a tree extracted from the mmdebstrap tar) into the panel's
 * root filesystem with the SAME board files as the Buildroot image: the common and x86_64
 * rootfs overlays, users.txt, post-build.sh; then what is Debian-specific (fstab, /var from a
 * factory copy, networkd enabled, kernel and initramfs where grub.cfg looks) and the app
 * (loader, factory bundle, release keys and floor, host EnvironmentFile).
 */
import { cp, chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_ENV_PATH, fstab, hostEnv, parseUsersTable, varFactoryTmpfiles, type FactoryEntry } from './plan.js';
import type { Runner } from './run.js';

export interface RootfsInputs {
  root: string;
  /** buildroot/ of this checkout (the external tree with board/airpanel). */
  buildrootDir: string;
  loaderDir: string;
  factoryBundleDir: string;
  releaseKeyring: string | null;
  /** The release floor file (release-floor.ts), installed as /usr/lib/airpanel/release-floor.json. */
  releaseFloor: string;
  raucKeyring: string;
  run: Runner;
}

const BOARD = 'board/airpanel';

async function writeText(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text, { mode });
  await chmod(path, mode);
}

/** The overlays, as Buildroot copies them (content and modes; everything owned by root). */
async function applyOverlays(i: RootfsInputs): Promise<void> {
  for (const board of ['common', 'x86_64']) {
    await i.run('cp', ['-rT', '--preserve=mode', join(i.buildrootDir, BOARD, board, 'rootfs-overlay'), i.root]);
  }
}

/**
 * users.txt into passwd/group/shadow/gshadow, as Buildroot's makeusers writes them (the
 * apt variant has no useradd): missing groups get the next free system gid; the password
 * field "*" locks the account.
 */
export async function addUsers(i: Pick<RootfsInputs, 'root' | 'buildrootDir' | 'run'>): Promise<void> {
  const users = parseUsersTable(await readFile(join(i.buildrootDir, BOARD, 'common/users.txt'), 'utf8'));
  const etc = (f: string): string => join(i.root, 'etc', f);
  const lines = async (f: string): Promise<string[]> =>
    existsSync(etc(f)) ? (await readFile(etc(f), 'utf8')).split('\n').filter(Boolean) : [];
  const group = await lines('group');
  const gshadow = await lines('gshadow');
  const passwd = await lines('passwd');
  const shadow = await lines('shadow');
  const gidOf = (g: string): number | undefined => {
    const l = group.find((x) => x.startsWith(`${g}:`));
    return l === undefined ? undefined : Number(l.split(':')[2]);
  };
  const addGroup = (name: string, gid: number): void => {
    group.push(`${name}:x:${gid}:`);
    gshadow.push(`${name}:!::`);
  };
  for (const u of users) {
    if (passwd.some((l) => l.startsWith(`${u.name}:`))) throw new Error(`user ${u.name} exists in the base already`);
    if (gidOf(u.group) === undefined) addGroup(u.group, u.gid);
    for (const g of u.groups) {
      if (gidOf(g) !== undefined) continue;
      const used = new Set(group.map((l) => Number(l.split(':')[2])));
      let gid = 999;
      while (used.has(gid)) gid--;
      addGroup(g, gid);
    }
    const home = u.home === '-' ? '/nonexistent' : u.home;
    const shell = u.shell === '-' ? '/usr/sbin/nologin' : u.shell;
    passwd.push(`${u.name}:x:${u.uid}:${gidOf(u.group)}:${u.comment}:${home}:${shell}`);
    shadow.push(`${u.name}:*:0:0:99999:7:::`);
    for (const g of u.groups) {
      const idx = group.findIndex((l) => l.startsWith(`${g}:`));
      const members = group[idx]!.split(':')[3]!;
      group[idx] = `${group[idx]!}${members === '' ? '' : ','}${u.name}`;
    }
  }
  await writeText(etc('group'), `${group.join('\n')}\n`);
  await writeText(etc('gshadow'), `${gshadow.join('\n')}\n`, 0o640);
  await writeText(etc('passwd'), `${passwd.join('\n')}\n`);
  await writeText(etc('shadow'), `${shadow.join('\n')}\n`, 0o640);
  // The shadow files belong to group shadow on Debian (the root's gid, not the host's).
  const shadowGid = gidOf('shadow');
  if (shadowGid !== undefined) await i.run('chown', [`0:${shadowGid}`, etc('gshadow'), etc('shadow')]);
}

/** Loader, factory bundle, release keys and floor, host EnvironmentFile: root-owned, read-only. */
export async function installApp(i: RootfsInputs): Promise<void> {
  const lib = join(i.root, 'usr/lib/airpanel');
  await rm(lib, { recursive: true, force: true });
  await mkdir(join(lib, 'loader'), { recursive: true });
  await cp(join(i.loaderDir, 'main.js'), join(lib, 'loader/main.js'));
  await i.run('cp', ['-rT', i.factoryBundleDir, join(lib, 'factory')]);
  if (i.releaseKeyring !== null) await cp(i.releaseKeyring, join(lib, 'release-keys.json'));
  await cp(i.releaseFloor, join(lib, 'release-floor.json'));
  await writeText(join(i.root, HOST_ENV_PATH), hostEnv());
  await i.run('chown', ['-R', '0:0', lib]);
  await i.run('chmod', ['-R', 'u+rwX,go+rX,go-w', lib]);
}

const VAR_TMPFS_DROP_IN = [
  '# Written by `npm run image` (image/rootfs.ts): /var is a tmpfs filled at boot by tmpfiles.',
  '[Unit]',
  'After=systemd-tmpfiles-setup.service',
  '',
].join('\n');

/** What Buildroot's skeleton does and Debian does not, for a read-only root. */
async function debianSystem(i: RootfsInputs): Promise<void> {
  const r = i.root;
  await writeText(join(r, 'etc/hostname'), 'airpanel\n');
  await writeText(join(r, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 airpanel\n::1 localhost ip6-localhost ip6-loopback\n');
  // Empty: systemd mounts a transient machine id over it on a read-only root.
  await writeText(join(r, 'etc/machine-id'), '', 0o444);
  await rm(join(r, 'var/lib/dbus/machine-id'), { force: true });
  await rm(join(r, 'etc/resolv.conf'), { force: true });
  await symlink('../run/systemd/resolve/stub-resolv.conf', join(r, 'etc/resolv.conf'));
  await writeText(join(r, 'etc/fstab'), fstab());
  // networkd: the board's .network files; Debian installs it disabled.
  await i.run('chroot', [r, 'systemctl', 'enable', 'systemd-networkd.service'], { quiet: true });
  // The catalog is built below into the factory /var; rebuilding it in the tmpfs at every
  // boot would cost seconds (ConditionNeedsUpdate cannot see a file the tmpfs gets later).
  await i.run('chroot', [r, 'systemctl', 'mask', 'systemd-journal-catalog-update.service'], { quiet: true });
  // /var is a tmpfs that systemd-tmpfiles-setup fills; resolved starts early (no default
  // dependencies) and its private /var/tmp needs the directory: without this it fails once
  // at every boot ("Failed to set up mount namespacing: /var/tmp") and is restarted.
  await writeText(join(r, 'etc/systemd/system/systemd-resolved.service.d/10-airpanel-var-tmpfs.conf'), VAR_TMPFS_DROP_IN);
  // No package management on the panel: its caches and lists are dead weight.
  for (const d of ['var/cache/apt', 'var/lib/apt/lists']) await rm(join(r, d), { recursive: true, force: true });
  await kernelLinks(r);
}

/** grub.cfg boots /boot/bzImage (+ /boot/initrd.img when present) of the slot. */
async function kernelLinks(root: string): Promise<void> {
  const boot = join(root, 'boot');
  const names = await readdir(boot);
  const kernels = names.filter((n) => n.startsWith('vmlinuz-'));
  if (kernels.length !== 1) throw new Error(`expected one kernel in /boot, found: ${kernels.join(', ') || 'none'}`);
  const version = kernels[0]!.slice('vmlinuz-'.length);
  if (!names.includes(`initrd.img-${version}`)) throw new Error(`no /boot/initrd.img-${version}: initramfs-tools did not run`);
  for (const [link, target] of [
    ['bzImage', `vmlinuz-${version}`],
    ['initrd.img', `initrd.img-${version}`],
  ] as const) {
    await rm(join(boot, link), { force: true });
    await symlink(target, join(boot, link));
  }
}

/** The board's post-build.sh, run on this root as Buildroot runs it. */
async function postBuild(i: RootfsInputs): Promise<void> {
  await i.run('sh', [join(i.buildrootDir, BOARD, 'common/post-build.sh'), i.root], {
    env: {
      TARGET_DIR: i.root,
      BR2_EXTERNAL_AIRPANEL_PATH: i.buildrootDir,
      AIRPANEL_RAUC_KEYRING: i.raucKeyring,
      // The Node host instead of the Electron runtime (/opt/airpanel) of the Buildroot image.
      AIRPANEL_HOST_FILES: `/usr/bin/node /usr/bin/chromium /usr/lib/airpanel/loader/main.js ${HOST_ENV_PATH}`,
    },
  });
}

/**
 * Work the first boot would otherwise do (minutes under emulation): the linker cache and the
 * journal catalog now, and the .updated stamps that tell systemd nothing changed since.
 */
async function bootTimeWorkNow(i: RootfsInputs): Promise<void> {
  await i.run('chroot', [i.root, 'ldconfig']);
  await i.run('chroot', [i.root, 'journalctl', '--update-catalog']);
}

/** /var → /usr/share/factory/var, and the tmpfiles lines that copy it into the tmpfs at boot. */
async function varFactory(root: string): Promise<void> {
  const factory = join(root, 'usr/share/factory/var');
  await rm(factory, { recursive: true, force: true });
  await mkdir(join(root, 'usr/share/factory'), { recursive: true });
  await rename(join(root, 'var'), factory);
  await mkdir(join(root, 'var'), { mode: 0o755 });
  const entries: FactoryEntry[] = [];
  for (const dir of ['', 'lib', 'lib/systemd']) {
    const abs = join(factory, dir);
    if (!existsSync(abs)) continue;
    for (const name of await readdir(abs)) {
      const path = dir === '' ? name : `${dir}/${name}`;
      if (path === 'lib' || path === 'lib/systemd') continue; // their children are listed
      const st = await lstat(join(factory, path));
      entries.push(st.isSymbolicLink() ? { path, symlink: await readlink(join(factory, path)) } : { path });
    }
  }
  await writeText(join(root, 'usr/lib/tmpfiles.d/airpanel-var-factory.conf'), varFactoryTmpfiles(entries));
}

/**
 * Stamps written last, so newer than /usr: ConditionNeedsUpdate= is false and ldconfig, hwdb
 * and catalog updates are skipped at boot (they ran above).
 */
async function stampUpdated(root: string): Promise<void> {
  for (const f of ['etc/.updated', 'usr/share/factory/var/.updated']) await writeText(join(root, f), '');
}

export async function customizeRootfs(i: RootfsInputs): Promise<void> {
  await applyOverlays(i);
  await addUsers(i);
  await installApp(i);
  await debianSystem(i);
  await postBuild(i);
  await bootTimeWorkNow(i);
  await varFactory(i.root);
  await stampUpdated(i.root);
}
