// The Raspberry Pi 4 image, assembled for real like the x86_64 one (image.test.ts): stand-in
// root from the external tree, placeholder firmware/U-Boot/DTBs, boot.scr compiled from the
// real boot.cmd with mkimage, then the real rpi4/post-image.sh + genimage.cfg under fakeroot.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_PREFIX, createFetchTransport } from '@airpanel/contract/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PanelConfig } from '@airpanel/contract';
import { runCli } from '@airpanel/provisioning/cli';
import { extractRange } from '@airpanel/provisioning/disk';
import { ProcessToolRunner } from '@airpanel/provisioning/tools';
import { BOARD, buildImage, must, run, raucConfForHost, type BuiltImage } from './image-fixture.js';

const MiB = 1024 * 1024;
interface Part {
  start: number;
  size: number;
  type: string;
  uuid: string;
  name: string;
}
let img: BuiltImage;
let parts: Part[];
const part = (name: string) => parts.find((p) => p.name === name)!;

beforeAll(() => {
  img = buildImage('rpi4');
  parts = (JSON.parse(must('sfdisk', ['--json', img.image]).stdout) as { partitiontable: { partitions: Part[] } }).partitiontable
    .partitions;
}, 120_000);
afterAll(() => img?.remove());

describe('Raspberry Pi 4 image', () => {
  it('is GPT with boot, root A, root B (arm64 root type) and data, 1 MiB aligned', () => {
    expect(parts.map((p) => [p.name, p.type])).toEqual([
      ['boot', 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7'],
      ['rootfs-a', 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE'],
      ['rootfs-b', 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE'],
      ['airpanel-data', '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
    ]);
    for (const p of parts) expect(((p.start * 512) % MiB) + ((p.size * 512) % MiB), p.name).toBe(0);
    expect(part('rootfs-a').size * 512).toBe(img.sizes.slot);
  });

  it('boots the slots by the partition numbers and UUIDs boot.cmd names', () => {
    const cmd = readFileSync(join(BOARD, 'rpi4/boot.cmd'), 'utf8');
    const slot = (s: string) => new RegExp(`setenv rauc_slot ${s}\\s+setenv root_part (\\d)\\s+setenv root_uuid ([0-9a-f-]+)`).exec(cmd);
    expect(slot('A')?.slice(1)).toEqual(['2', part('rootfs-a').uuid.toLowerCase()]);
    expect(slot('B')?.slice(1)).toEqual(['3', part('rootfs-b').uuid.toLowerCase()]);
  });

  it('has a clean FAT32 boot partition with the firmware, config.txt, DTBs, U-Boot and a valid boot.scr', async () => {
    const boot = join(img.dir, 'boot.part');
    await extractRange(img.image, part('boot').start * 512, part('boot').size * 512, boot);
    const fsck = run('fsck.vfat', ['-n', boot]);
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    const env = { MTOOLS_SKIP_CHECK: '1' };
    const listing = must('mdir', ['-b', '-i', boot, '::/'], { env }).stdout.toLowerCase();
    for (const f of ['start4.elf', 'fixup4.dat', 'config.txt', 'bcm2711-rpi-4-b.dtb', 'u-boot.bin', 'boot.scr', 'overlays']) {
      expect(listing, f).toContain(`::/${f}`);
    }
    expect(listing).not.toContain('uboot.env'); // written by boot.scr: a partial env would hide U-Boot's defaults
    must('mcopy', ['-n', '-i', boot, '::/boot.scr', join(img.dir, 'boot.scr')], { env });
    expect(must('mkimage', ['-l', join(img.dir, 'boot.scr')]).stdout).toMatch(/Image Type:\s+AArch64 Linux Script/);
    expect(readFileSync(join(img.dir, 'boot.scr')).includes(readFileSync(join(BOARD, 'rpi4/boot.cmd')))).toBe(true);
    must('mcopy', ['-n', '-i', boot, '::/config.txt', join(img.dir, 'config.txt')], { env });
    expect(readFileSync(join(img.dir, 'config.txt'), 'utf8')).toMatch(/^kernel=u-boot\.bin$/m);
  });

  it('keeps the U-Boot environment where fw_setenv looks for it, with the same size', () => {
    const fwEnv = readFileSync(join(BOARD, 'rpi4/rootfs-overlay/etc/fw_env.config'), 'utf8');
    const fragment = readFileSync(join(BOARD, 'rpi4/uboot.fragment'), 'utf8');
    // Two copies (CONFIG_SYS_REDUNDAND_ENVIRONMENT): a power cut while one is written leaves the other.
    const lines = [...fwEnv.matchAll(/^(\/\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)$/gim)].map((m) => [m[1], Number(m[3])]);
    const size = Number(/^CONFIG_ENV_SIZE=(0x[0-9a-f]+)$/m.exec(fragment)?.[1]);
    expect(fragment).toMatch(/^CONFIG_SYS_REDUNDAND_ENVIRONMENT=y$/m);
    expect(lines).toEqual([
      [`/boot/firmware/${/^CONFIG_ENV_FAT_FILE="(.*)"$/m.exec(fragment)?.[1]}`, size],
      [`/boot/firmware/${/^CONFIG_ENV_FAT_FILE_REDUND="(.*)"$/m.exec(fragment)?.[1]}`, size],
    ]);
    expect(new Set(lines.map((l) => l[0])).size).toBe(2);
    expect(readFileSync(join(BOARD, 'rpi4/rootfs-overlay/etc/systemd/system/boot-firmware.mount'), 'utf8')).toMatch(
      /^Where=\/boot\/firmware$/m,
    );
  });

  it('boots kernel, device tree and overlays of the slot (boot.cmd), each load failure resetting the board', () => {
    const cmd = readFileSync(join(BOARD, 'rpi4/boot.cmd'), 'utf8');
    const loads = [...cmd.matchAll(/^\s*load (.*)$/gm)].map((m) => m[1]!);
    expect(loads).toHaveLength(3);
    for (const l of loads) expect(l, l).toMatch(/^\$\{devtype\} \$\{devnum\}:\$\{root_part\} \S+ \/boot\/\S+ \|\| reset$/);
    expect(cmd).toMatch(/^\s*fdt apply \$\{fdtoverlay_addr_r\} \|\| reset$/m);
    expect(cmd).toMatch(/^booti \$\{kernel_addr_r\} - \$\{fdt_addr_r\}\n(?:.*\n)?reset\n?$/m);
    // Both slots out of attempts: both refilled (not only A).
    const exhausted = /if test "x\$\{rauc_slot\}" = "x"; then\n([\s\S]*?)\nfi/.exec(cmd)?.[1] ?? '';
    expect(exhausted).toMatch(/setenv BOOT_A_LEFT 3/);
    expect(exhausted).toMatch(/setenv BOOT_B_LEFT 3/);
    // The overlays U-Boot applies are the ones config.txt names for the firmware.
    const overlays = /^setenv airpanel_overlays "(.*)"$/m.exec(cmd)?.[1]?.split(' ');
    const configTxt = [...readFileSync(join(BOARD, 'rpi4/config.txt'), 'utf8').matchAll(/^dtoverlay=(.*)$/gm)].map((m) => m[1]);
    expect(overlays).toEqual(configTxt);
    expect(/^setenv bootargs "(.*)"$/m.exec(cmd)?.[1]?.split(' ')).toEqual(
      expect.arrayContaining(['ro', 'fsck.repair=yes', 'rauc.slot=${rauc_slot}']),
    );
  });

  it('has the device trees under the name U-Boot asks for (${fdtfile}) and only the overlays boot.cmd applies in root A', () => {
    const root = `${img.image}?offset=${part('rootfs-a').start * 512}`;
    const dbg = (c: string) => must('debugfs', ['-R', c, root], { env: { DEBUGFS_PAGER: '__none__' } }).stdout;
    for (const dtb of ['bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4.dtb']) {
      expect(dbg(`stat /boot/broadcom/${dtb}`), dtb).toMatch(/Type: regular/);
      expect(dbg(`cat /boot/broadcom/${dtb}`)).toBe(`placeholder ${dtb}`);
    }
    const listing = dbg('ls -p /boot/overlays')
      .split('\n')
      .map((l) => l.split('/')[5])
      .filter((n) => n && !n.startsWith('.'));
    expect(listing.sort()).toEqual(['disable-bt.dtbo', 'vc4-kms-v3d-pi4.dtbo']);
  });

  it('has a clean root A with the arm64 kernel and the rpi4 RAUC config, and a clean data partition', () => {
    const root = `${img.image}?offset=${part('rootfs-a').start * 512}`;
    expect(run('e2fsck', ['-fn', root]).status).toBe(0);
    expect(must('debugfs', ['-R', 'stat /boot/Image', root]).stdout).toMatch(/Type: regular/);
    // The boot partition's mount point: without it boot-firmware.mount fails, and with it rauc.service.
    expect(must('debugfs', ['-R', 'stat /boot/firmware', root]).stdout).toMatch(/Type: directory/);
    expect(must('debugfs', ['-R', 'cat /etc/rauc/system.conf', root]).stdout).toMatch(/^bootloader=uboot$/m);
    expect(run('e2fsck', ['-fn', `${img.image}?offset=${part('airpanel-data').start * 512}`]).status).toBe(0);
  });

  it('signs a bundle the Pi (compatible airpanel-rpi4) accepts', () => {
    const r = must('rauc', ['--conf', raucConfForHost(img), 'info', '--output-format=json', '--keyring', img.signer.cert, img.bundle]);
    expect((JSON.parse(r.stdout) as { compatible: string }).compatible).toBe('airpanel-rpi4');
  });

  it('takes a panel identity with inject, read back by show', async () => {
    const cfg = join(img.dir, 'panel.json');
    const config = PanelConfig.parse({
      schemaVersion: 1,
      panelId: 'pnl-pi-0001',
      apiKey: 'p'.repeat(40),
      name: 'Pi panel',
      location: null,
      endpoints: {
        apiBaseUrl: `https://airpanel.example.org${API_PREFIX}`,
        mqttUrl: null,
        topics: { display: 'd', status: 's', commands: 'c', events: 'e' },
      },
    });
    writeFileSync(cfg, `${JSON.stringify(config, null, 2)}\n`);
    const out: string[] = [];
    const deps = {
      http: { transport: createFetchTransport(), timeoutMs: 5_000 },
      tools: new ProcessToolRunner(30_000),
      env: {},
      tmpDir: img.dir,
      cwd: img.dir,
      out: (l: string) => out.push(l),
      err: (l: string) => out.push(l),
    };
    expect(await runCli(['inject', '--config', cfg, '--image', img.image], deps), out.join('\n')).toBe(0);
    out.length = 0;
    expect(await runCli(['show', '--image', img.image, '--json'], deps)).toBe(0);
    expect(`${out.join('\n')}\n`).toBe(readFileSync(cfg, 'utf8'));
  });
});
