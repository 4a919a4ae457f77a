// The image's first-boot and factory-reset scripts, run for real with /bin/sh on files: the
// boot loader environment with GRUB's own grub-editenv and with libubootenv's fw_setenv on a
// redundant U-Boot environment (the tools RAUC uses on each board), the machine id kept in it,
// the factory reset (flag, then mkfs.ext4 of the data partition) and the growth of the data
// partition and its filesystem (sfdisk, resize2fs) on disk image files, without loop devices.
// systemctl is the only stand-in (factory-reset reboots).
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD, must, run, tempDir } from './image-fixture.js';

const LIBEXEC = join(BOARD, 'common/rootfs-overlay/usr/libexec/airpanel');
const script = (name: string) => join(LIBEXEC, name);
let t: ReturnType<typeof tempDir>;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(() => {
  t = tempDir('airpanel-firstboot-');
  must('mkdir', ['-p', join(t.dir, 'bin')]);
  writeFileSync(join(t.dir, 'bin/systemctl'), `#!/bin/sh\necho "$@" > ${t.dir}/systemctl.args\n`);
  chmodSync(join(t.dir, 'bin/systemctl'), 0o755);
});
afterAll(() => t?.remove());

interface Board {
  name: string;
  env: Record<string, string>;
  list: () => string;
}

/** The x86_64 board: system.conf as the image has it, its grubenv path pointed at a copy made like post-image.sh does. */
function grubBoard(dir: string): Board {
  must('mkdir', ['-p', dir]);
  const grubenv = join(dir, 'grubenv');
  must('grub-editenv', [grubenv, 'create']);
  must('grub-editenv', [grubenv, 'set', 'ORDER=A B', 'A_OK=1', 'A_TRY=0', 'B_OK=0', 'B_TRY=0']);
  const conf = readFileSync(join(BOARD, 'x86_64/rootfs-overlay/etc/rauc/system.conf'), 'utf8').replace(
    /^grubenv=.*$/m,
    `grubenv=${grubenv}`,
  );
  writeFileSync(join(dir, 'system.conf'), conf);
  return {
    name: 'grub',
    env: { AIRPANEL_RAUC_SYSTEM_CONF: join(dir, 'system.conf') },
    list: () => {
      expect(statSync(grubenv).size).toBe(1024);
      return must('grub-editenv', [grubenv, 'list']).stdout;
    },
  };
}

/** The Raspberry Pi board: its system.conf and fw_env.config, the two environment copies as U-Boot saves them. */
function ubootBoard(dir: string): Board {
  must('mkdir', ['-p', dir]);
  const fwEnv = readFileSync(join(BOARD, 'rpi4/rootfs-overlay/etc/fw_env.config'), 'utf8').replaceAll('/boot/firmware/', `${dir}/`);
  writeFileSync(join(dir, 'fw_env.config'), fwEnv);
  writeFileSync(join(dir, 'env.txt'), 'BOOT_ORDER=A B\nBOOT_A_LEFT=2\nBOOT_B_LEFT=0\n');
  for (const f of ['uboot.env', 'uboot-redund.env']) must('mkenvimage', ['-r', '-s', '0x4000', '-o', join(dir, f), join(dir, 'env.txt')]);
  writeFileSync(join(dir, 'system.conf'), readFileSync(join(BOARD, 'rpi4/rootfs-overlay/etc/rauc/system.conf'), 'utf8'));
  return {
    name: 'uboot',
    env: { AIRPANEL_RAUC_SYSTEM_CONF: join(dir, 'system.conf'), AIRPANEL_FW_ENV_CONFIG: join(dir, 'fw_env.config') },
    list: () => must('fw_printenv', ['-c', join(dir, 'fw_env.config')]).stdout,
  };
}

const boards: [string, (dir: string) => Board][] = [
  ['x86_64 (GRUB, grub-editenv)', grubBoard],
  ['rpi4 (U-Boot, fw_setenv)', ubootBoard],
];

function sh(board: Board, name: string, args: string[] = [], env: Record<string, string> = {}) {
  return run('sh', [script(name), ...args], {
    env: { PATH: `${join(t.dir, 'bin')}:${process.env.PATH}:/usr/sbin:/sbin`, AIRPANEL_BOOTENV: script('bootenv'), ...board.env, ...env },
  });
}

describe.each(boards)('boot loader environment on %s', (_label, make) => {
  let board: Board;
  let dir: string;
  beforeAll(() => {
    dir = join(t.dir, make === grubBoard ? 'grub' : 'uboot');
    board = make(dir);
  });

  it("bootenv sets, reads and unsets a variable and leaves RAUC's own untouched", () => {
    const before = board.list();
    expect(sh(board, 'bootenv', ['get', 'FACTORY_RESET']).stdout).toBe('');
    expect(sh(board, 'bootenv', ['set', 'FACTORY_RESET=1']).status).toBe(0);
    expect(sh(board, 'bootenv', ['get', 'FACTORY_RESET']).stdout).toBe('1\n');
    expect(board.list()).toMatch(/^FACTORY_RESET=1$/m);
    expect(sh(board, 'bootenv', ['unset', 'FACTORY_RESET']).status).toBe(0);
    expect(sh(board, 'bootenv', ['get', 'FACTORY_RESET']).stdout).toBe('');
    expect(
      board
        .list()
        .split('\n')
        .filter((l) => !/^FACTORY_RESET=$/.test(l))
        .sort(),
    ).toEqual(before.split('\n').sort());
  });

  it('bootenv refuses what could reach the kernel command line as more than one value', () => {
    for (const bad of [
      ['set', 'MACHINE_ID=a b'],
      ['set', 'MACHINE_ID=x;reset'],
      ['set', 'lower=1'],
      ['get', 'A B'],
    ]) {
      const r = sh(board, 'bootenv', bad);
      expect(r.status, bad.join(' ')).toBe(2);
    }
    expect(board.list()).not.toMatch(/MACHINE_ID|lower/);
  });

  it("machine-id stores the first boot's id once, then leaves the environment alone", () => {
    const id = '0123456789abcdef0123456789abcdef';
    writeFileSync(join(dir, 'machine-id'), `${id}\n`);
    const first = sh(board, 'machine-id', [], { AIRPANEL_MACHINE_ID_FILE: join(dir, 'machine-id') });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/stored 0123456789abcdef0123456789abcdef/);
    expect(board.list()).toMatch(new RegExp(`^MACHINE_ID=${id}$`, 'm'));
    const listed = board.list();
    const again = sh(board, 'machine-id', [], { AIRPANEL_MACHINE_ID_FILE: join(dir, 'machine-id') });
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('');
    expect(board.list()).toBe(listed);
    // A stored id the kernel did not get is a boot loader fault: kept, and the unit fails visibly.
    writeFileSync(join(dir, 'machine-id'), `${'f'.repeat(32)}\n`);
    const other = sh(board, 'machine-id', [], { AIRPANEL_MACHINE_ID_FILE: join(dir, 'machine-id') });
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/holds MACHINE_ID=0123456789abcdef0123456789abcdef but the kernel did not get it/);
    expect(board.list()).toMatch(new RegExp(`^MACHINE_ID=${id}$`, 'm'));
    writeFileSync(join(dir, 'machine-id'), 'uninitialized\n');
    expect(sh(board, 'machine-id', [], { AIRPANEL_MACHINE_ID_FILE: join(dir, 'machine-id') }).stderr).toMatch(/does not hold a machine id/);
  });

  it('factory-reset sets FACTORY_RESET=1 and reboots; wipe-data reformats the data partition and clears it', () => {
    must('rm', ['-f', join(t.dir, 'systemctl.args')]);
    const r = sh(board, 'factory-reset');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(t.dir, 'systemctl.args'), 'utf8').trim()).toBe('reboot');
    expect(sh(board, 'bootenv', ['get', 'FACTORY_RESET']).stdout).toBe('1\n');

    // A used data partition (an ext4 image file standing in for /dev/disk/by-partlabel/airpanel-data).
    const content = join(dir, 'content');
    must('mkdir', ['-p', join(content, 'airpanel')]);
    writeFileSync(join(content, 'airpanel/panel.json'), '{"panelId":"pnl-0001"}\n');
    const data = join(dir, 'data.ext4');
    must('mkfs.ext4', ['-q', '-F', '-L', 'old-label', '-d', content, data, '16M']);
    const w = sh(board, 'wipe-data', [data]);
    expect(w.status, w.stderr).toBe(0);
    expect(must('e2fsck', ['-fn', data]).status).toBe(0);
    expect(must('dumpe2fs', ['-h', data]).stdout).toMatch(/Filesystem volume name:\s+airpanel-data/);
    const listing = must('debugfs', ['-R', 'ls -p /', data]).stdout;
    expect(listing).toMatch(/lost\+found/);
    expect(listing).not.toMatch(/airpanel/);
    expect(sh(board, 'bootenv', ['get', 'FACTORY_RESET']).stdout).toBe('');
    expect(statSync(data).size).toBe(16 * 1024 * 1024);
  });
});

describe('factory reset without a partition', () => {
  it('wipe-data refuses a missing device and keeps the flag (the next boot tries again)', () => {
    const board = grubBoard(join(t.dir, 'grub-missing'));
    sh(board, 'bootenv', ['set', 'FACTORY_RESET=1']);
    const r = sh(board, 'wipe-data', [join(t.dir, 'no-such-partition')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no data partition/);
    expect(sh(board, 'bootenv', ['get', 'FACTORY_RESET']).stdout).toBe('1\n');
    expect(sh(board, 'factory-reset', ['--now']).status).toBe(2);
  });
});

describe('grow-data on a disk image file (sfdisk, resize2fs)', () => {
  const MiB = 1024 * 1024;
  interface Part {
    node: string;
    start: number;
    size: number;
    type: string;
    uuid: string;
    name: string;
  }
  const table = (disk: string) =>
    (JSON.parse(must('sfdisk', ['--json', disk]).stdout) as { partitiontable: { lastlba: number; partitions: Part[] } }).partitiontable;

  it('moves the backup GPT to the end, grows the last partition and its filesystem, keeps the rest and the data; then writes nothing', () => {
    const disk = join(t.dir, 'disk.img');
    const fs = join(t.dir, 'data-fs.img');
    // The image's layout, small: EFI, root A, root B, data (as genimage.cfg lays it out).
    must('truncate', ['-s', '64M', disk]);
    must('sfdisk', ['-q', disk], {
      input: [
        'label: gpt',
        'start=2048, size=8M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="efi"',
        'size=16M, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="rootfs-a"',
        'size=16M, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="rootfs-b"',
        'size=16M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="airpanel-data"',
        '',
      ].join('\n'),
    });
    const before = table(disk);
    // The filesystem of the data partition, with data on it (its own file: no loop device here).
    const content = join(t.dir, 'fs-content');
    must('mkdir', ['-p', content]);
    writeFileSync(join(content, 'kept.txt'), 'still here\n');
    must('mkfs.ext4', ['-q', '-F', '-L', 'airpanel-data', '-d', content, fs, '16M']);
    // Written to a 256 MiB medium: the disk, and the partition's device, grow.
    must('truncate', ['-s', '256M', disk]);
    must('truncate', ['-s', '240M', fs]);

    const r = run('sh', [script('grow-data'), disk, '4', fs], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/moving the backup GPT/);
    expect(r.stdout).toMatch(/growing partition 4/);
    expect(r.stdout).toMatch(/growing the filesystem/);

    const after = table(disk);
    expect(after.lastlba).toBe((256 * MiB) / 512 - 34);
    expect(after.partitions.slice(0, 3)).toEqual(before.partitions.slice(0, 3));
    const data = after.partitions[3]!;
    expect({ ...data, size: 0 }).toEqual({ ...before.partitions[3]!, size: 0 });
    expect(data.start + data.size - 1).toBe(after.lastlba);
    expect(must('sfdisk', ['--verify', disk]).stdout).toMatch(/No errors detected/);

    expect(must('e2fsck', ['-fn', fs]).status).toBe(0);
    const header = must('dumpe2fs', ['-h', fs]).stdout;
    const blocks = Number(/^Block count:\s+(\d+)/m.exec(header)?.[1]) * Number(/^Block size:\s+(\d+)/m.exec(header)?.[1]);
    expect(blocks).toBe(240 * MiB);
    expect(must('debugfs', ['-R', 'cat /kept.txt', fs]).stdout).toBe('still here\n');

    // Every later boot: nothing to do, nothing written.
    const sums = [sha256(disk), sha256(fs)];
    const again = run('sh', [script('grow-data'), disk, '4', fs], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
    expect([sha256(disk), sha256(fs)]).toEqual(sums);
  });

  it('fails plainly on a disk without that partition', () => {
    const disk = join(t.dir, 'small.img');
    must('truncate', ['-s', '8M', disk]);
    must('sfdisk', ['-q', disk], { input: 'label: gpt\nsize=2M, name="only"\n' });
    const r = run('sh', [script('grow-data'), disk, '4', disk], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no partition 4/);
  });
});
