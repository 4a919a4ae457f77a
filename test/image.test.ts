// The panel disk image, assembled for real: the external tree's overlays and post-build.sh
// make a stand-in root (app, kernel and GRUB binary are placeholders), the real post-image.sh
// runs genimage under fakeroot and signs a RAUC bundle. Checked with sfdisk, e2fsck,
// fsck.vfat, mtools, debugfs and rauc; then provisioning injects a panel.json into it.
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PanelConfig } from '@airpanel/contract';
import { extractRange } from '@airpanel/provisioning/disk';
import { runCli, type CliDeps } from '@airpanel/provisioning/cli';
import { ProcessToolRunner } from '@airpanel/provisioning/tools';
import { API_PREFIX, createFetchTransport } from '@airpanel/contract/api';
import { readImageReleaseFloor } from '@airpanel/panel/core/update/image-floor';
import { ReleaseLedger } from '@airpanel/release-tools/ledger';
import { makeManifest } from '@airpanel/release-tools/ops';
import { createTestPki } from '@airpanel/panel/core/transport/testing/test-pki';
import {
  BOARD,
  REPO,
  RELEASE_FLOOR_PATH,
  STAND_IN_AIRPANEL_FILES,
  STAND_IN_IMAGE_VERSION,
  buildImage,
  makeSigningPair,
  must,
  packagePermissions,
  run,
  raucConfForHost,
  tempDir,
  type BuiltImage,
} from './image-fixture.js';

const MiB = 1024 * 1024;
const GPT = {
  efi: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  rootX64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
};

interface SfdiskPart {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid: string;
  name: string;
}
interface Sfdisk {
  partitiontable: { label: string; sectorsize: number; partitions: SfdiskPart[] };
}

let img: BuiltImage;
let table: Sfdisk['partitiontable'];
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
function sha256Range(path: string, start: number, length: number): string {
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(MiB);
    for (let pos = 0; pos < length; pos += buf.length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - pos), start + pos);
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}
const part = (name: string) => table.partitions.find((p) => p.name === name)!;
const offsetOf = (name: string) => part(name).start * table.sectorsize;

/** Copies a partition out of the image (sparse) so tools without an offset option can read it. */
async function partitionFile(name: string): Promise<string> {
  const p = part(name);
  const file = join(img.dir, `${name}.part`);
  await extractRange(img.image, p.start * table.sectorsize, p.size * table.sectorsize, file);
  return file;
}

function cli(): { deps: CliDeps; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    deps: {
      http: { transport: createFetchTransport(), timeoutMs: 5_000 },
      tools: new ProcessToolRunner(30_000),
      env: {},
      tmpDir: img.dir,
      cwd: img.dir,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    },
  };
}

function panelConfig(id: string, name = 'Gare du Nord'): PanelConfig {
  return PanelConfig.parse({
    schemaVersion: 1,
    panelId: id,
    apiKey: `k-${id}-0123456789abcdef0123456789abcdef`,
    name,
    location: { description: 'Parvis, rue de Dunkerque', latitude: 48.8809, longitude: 2.3553 },
    endpoints: {
      apiBaseUrl: `https://airpanel.example.org${API_PREFIX}`,
      mqttUrl: 'mqtts://mqtt.example.org:8883',
      topics: {
        display: `airpanel/v1/panels/${id}/display`,
        status: `airpanel/v1/panels/${id}/status`,
        commands: `airpanel/v1/panels/${id}/commands`,
        events: `airpanel/v1/panels/${id}/events`,
      },
    },
  });
}

/** The release manager's ledger at counter 17: the floor this image ships comes from it. */
const LEDGER_COUNTER = 17;
let ledgerDir: ReturnType<typeof tempDir>;

async function releaseLedgerAt(counter: number): Promise<string> {
  ledgerDir = tempDir('airpanel-image-ledger-');
  const file = join(ledgerDir.dir, 'release-ledger.json');
  const ledger = await ReleaseLedger.open(file);
  await ledger.record(
    makeManifest({
      version: '0.0.9',
      channel: 'stable',
      bundleUrl: '../../bundles/x.tar.gz',
      sha512: `${'A'.repeat(86)}==`,
      size: 1,
      bundleDescriptorSha256: '0'.repeat(64),
      minRuntime: { node: '20.0.0' },
      counter,
      rolloutShare: 1,
    }),
    ['0123456789abcdef0123456789abcdef'],
  );
  return file;
}

beforeAll(async () => {
  img = buildImage('x86_64', { AIRPANEL_RELEASE_LEDGER: await releaseLedgerAt(LEDGER_COUNTER) });
  table = (JSON.parse(must('sfdisk', ['--json', img.image]).stdout) as Sfdisk).partitiontable;
}, 120_000);

afterAll(() => {
  img?.remove();
  ledgerDir?.remove();
});

describe('disk layout (genimage.cfg via post-image.sh)', () => {
  it('is a GPT disk with EFI, root A, root B and data, in that order, typed and named', () => {
    expect(table.label).toBe('gpt');
    expect(table.partitions.map((p) => [p.name, p.type])).toEqual([
      ['efi', GPT.efi],
      ['rootfs-a', GPT.rootX64],
      ['rootfs-b', GPT.rootX64],
      ['airpanel-data', GPT.linux],
    ]);
  });

  it('aligns every partition start and size to 1 MiB and gives each its configured size', () => {
    for (const p of table.partitions) {
      expect((p.start * table.sectorsize) % MiB, p.name).toBe(0);
      expect((p.size * table.sectorsize) % MiB, p.name).toBe(0);
    }
    const bytes = (name: string) => part(name).size * table.sectorsize;
    expect(bytes('efi')).toBe(img.sizes.boot);
    expect(bytes('rootfs-a')).toBe(img.sizes.slot);
    expect(bytes('rootfs-b')).toBe(img.sizes.slot);
    expect(bytes('airpanel-data')).toBe(img.sizes.data);
  });

  it('boots the slots by the partition UUIDs grub.cfg names', () => {
    const grub = readFileSync(join(BOARD, 'x86_64/grub.cfg'), 'utf8');
    const a = /rauc\.slot=A/.test(grub) && /\(\$\{bootdisk\},gpt2\)\/boot\/bzImage root=PARTUUID=([0-9a-f-]+) rauc\.slot=A/.exec(grub)?.[1];
    const b = /\(\$\{bootdisk\},gpt3\)\/boot\/bzImage root=PARTUUID=([0-9a-f-]+) rauc\.slot=B/.exec(grub)?.[1];
    expect(part('rootfs-a').uuid.toLowerCase()).toBe(a);
    expect(part('rootfs-b').uuid.toLowerCase()).toBe(b);
  });
});

describe('filesystems', () => {
  it('has a clean FAT32 ESP with GRUB, grub.cfg and a 1024-byte grubenv that boots slot A', async () => {
    const esp = await partitionFile('efi');
    const fsck = run('fsck.vfat', ['-n', esp]);
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    expect(readFileSync(esp).subarray(82, 90).toString('latin1')).toBe('FAT32   ');
    const env = { MTOOLS_SKIP_CHECK: '1' };
    const listing = must('mdir', ['-b', '-i', esp, '::/EFI/BOOT'], { env }).stdout;
    expect(listing).toMatch(/bootx64\.efi/i);
    must('mcopy', ['-n', '-i', esp, '::/EFI/BOOT/grub.cfg', join(img.dir, 'grub.cfg')], { env });
    must('mcopy', ['-n', '-i', esp, '::/EFI/BOOT/grubenv', join(img.dir, 'grubenv')], { env });
    expect(readFileSync(join(img.dir, 'grub.cfg'), 'utf8')).toBe(readFileSync(join(BOARD, 'x86_64/grub.cfg'), 'utf8'));
    const grubenv = readFileSync(join(img.dir, 'grubenv'));
    expect(grubenv.length).toBe(1024);
    const text = grubenv.toString('latin1');
    expect(text.startsWith('# GRUB Environment Block\n')).toBe(true);
    expect(text).toMatch(/\nORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n#+$/);

    // GRUB's own tools (what RAUC's grub backend runs on the panel) read and edit it in place.
    const grubenvFile = join(img.dir, 'grubenv');
    expect(must('grub-editenv', [grubenvFile, 'list']).stdout).toBe('ORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n');
    must('grub-editenv', [grubenvFile, 'set', 'ORDER=B A', 'B_OK=1', 'B_TRY=0']); // what `rauc install` does
    expect(readFileSync(grubenvFile).length).toBe(1024);
    expect(must('grub-editenv', [grubenvFile, 'list']).stdout).toMatch(/^ORDER=B A$/m);
  });

  it('ships a grub.cfg that grub-script-check accepts (and the check catches a broken one)', () => {
    const cfg = join(BOARD, 'x86_64/grub.cfg');
    const ok = run('grub-script-check', [cfg]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const broken = join(img.dir, 'broken.cfg');
    writeFileSync(broken, readFileSync(cfg, 'utf8').replace(/\nfi\n/, '\n'));
    expect(run('grub-script-check', [broken]).status).not.toBe(0);
  });

  it('grub.cfg: each slot entry counts its try before loading the kernel, falls back to the other slot then a reboot, and repairs filesystems', () => {
    const grub = readFileSync(join(BOARD, 'x86_64/grub.cfg'), 'utf8');
    const entries = [...grub.matchAll(/^menuentry "[^"]*" --id (\S+) \{\n([\s\S]*?)\n\}/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(entries.map(([id]) => id)).toEqual(['slot-A', 'slot-B', 'reboot']);
    for (const [id, body] of entries.slice(0, 2)) {
      const slot = id.slice(-1);
      const lines = body.split('\n').map((l) => l.trim());
      // TRY=1 is saved inside the entry, so a fallback entry counts its try too.
      expect(lines.slice(0, 3), id).toEqual([
        `set ${slot}_TRY=1`,
        `save_env --file=\${prefix}/grubenv ${slot}_TRY`,
        expect.stringMatching(
          new RegExp(`^linux \\(\\$\\{bootdisk\\},gpt[23]\\)/boot/bzImage root=PARTUUID=\\S+ rauc\\.slot=${slot} \\$\\{cmdline\\}$`),
        ),
      ]);
    }
    expect(entries[2]![1].trim()).toBe('reboot');
    // Entries see only exported variables.
    expect(grub).toMatch(/^export bootdisk cmdline$/m);
    expect(grub).toMatch(/^\tif \[ "\$B_OK" = "1" \]; then set fallback="1 2"; else set fallback="2"; fi$/m);
    expect(grub).toMatch(/^\tif \[ "\$A_OK" = "1" \]; then set fallback="0 2"; else set fallback="2"; fi$/m);
    const cmdline = /^set cmdline="(.*)"$/m.exec(grub)?.[1]?.split(' ');
    expect(cmdline).toEqual(expect.arrayContaining(['ro', 'fsck.repair=yes']));
    // The machine id reaches the kernel only in its exact form (32 lowercase hex digits).
    expect(grub).toMatch(
      /^if regexp '\^\[0-9a-f\]\{32\}\$' "\$MACHINE_ID"; then set cmdline="\$cmdline systemd\.machine_id=\$MACHINE_ID"; fi$/m,
    );
    const defconfig = readFileSync(join(REPO, 'buildroot/configs/airpanel_x86_64_defconfig'), 'utf8');
    const modules = /^BR2_TARGET_GRUB2_BUILTIN_MODULES_EFI="(.*)"$/m.exec(defconfig)?.[1]?.split(' ');
    expect(modules).toEqual(expect.arrayContaining(['loadenv', 'regexp', 'test', 'reboot', 'linux', 'part_gpt', 'ext2', 'fat']));
  });

  it('has a clean read-only-ready ext4 root in slot A holding the overlay, the enabled units and the app', () => {
    const root = `${img.image}?offset=${offsetOf('rootfs-a')}`;
    const fsck = run('e2fsck', ['-fn', root]);
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    const dbg = (cmd: string) => must('debugfs', ['-R', cmd, root], { env: { DEBUGFS_PAGER: '__none__' } });
    expect(dbg('cat /etc/systemd/system/airpanel.service').stdout).toBe(
      readFileSync(join(BOARD, 'common/rootfs-overlay/etc/systemd/system/airpanel.service'), 'utf8'),
    );
    expect(dbg('stat /etc/systemd/system/multi-user.target.wants/airpanel.service').stdout).toMatch(/Type: symlink/);
    // /var/log/journal becomes a link to /data/journal at boot (tmpfiles), not in the factory.
    expect(run('debugfs', ['-R', 'stat /var/log/journal', root]).stderr).toMatch(/File not found/);
    expect(dbg('cat /etc/passwd').stdout).toMatch(/^airpanel:x:1000:1000:/m);
    expect(dbg('cat /etc/rauc/keyring.pem').stdout).toBe(readFileSync(img.signer.cert, 'utf8'));
    expect(dbg('stat /data').stdout).toMatch(/Type: directory/);
    expect(dbg('stat /boot/efi').stdout).toMatch(/Type: directory/);
    // Package permissions (makedevs table of airpanel.mk): chrome-sandbox not setuid (user namespaces).
    for (const p of packagePermissions()) {
      const st = dbg(`stat ${p.path}`).stdout;
      expect(st, p.path).toMatch(new RegExp(`Mode:\\s+0?${p.mode.toString(8)}\\b`));
      expect(st, p.path).toMatch(new RegExp(`User:\\s+${p.uid}\\s+Group:\\s+${p.gid}\\b`));
    }
    expect(dbg('stat /opt/airpanel/chrome-sandbox').stdout).toMatch(/Mode:\s+0755\b/);
    // What the kiosk unit starts: the runtime's app (the OTA loader, which verifies a release
    // before it starts it), the factory bundle, the trusted release keys; root-owned and not
    // writable by the app. No Node-host loader: the runtime app is the loader here.
    for (const [rel, content] of Object.entries(STAND_IN_AIRPANEL_FILES)) {
      expect(dbg(`cat /${rel}`).stdout, rel).toBe(content);
      expect(dbg(`stat /${rel}`).stdout, rel).toMatch(/Mode:\s+0644[\s\S]*User:\s+0\s+Group:\s+0\b/);
    }
    expect(run('debugfs', ['-R', 'stat /usr/lib/airpanel/loader', root]).stderr).toMatch(/File not found/);
    expect(run('debugfs', ['-R', 'stat /opt/airpanel/resources/app.asar', root]).stderr).toMatch(/File not found/);
  });

  it("ships the release floor in root A: the ledger's counter and the factory version, as the panel reads it", () => {
    const root = `${img.image}?offset=${offsetOf('rootfs-a')}`;
    const dbg = (cmd: string) => must('debugfs', ['-R', cmd, root], { env: { DEBUGFS_PAGER: '__none__' } });
    const copy = join(img.dir, 'release-floor-from-root-a.json');
    writeFileSync(copy, dbg(`cat /${RELEASE_FLOOR_PATH}`).stdout);
    // What src-main/core/kiosk/ota.ts reads at start (zod-checked): a wiped panel takes nothing below it.
    expect(readImageReleaseFloor(copy)).toEqual({
      format: 'airpanel-release-floor/1',
      counterFloor: LEDGER_COUNTER,
      factoryVersion: STAND_IN_IMAGE_VERSION,
    });
    expect(dbg(`stat /${RELEASE_FLOOR_PATH}`).stdout).toMatch(/Mode:\s+0644[\s\S]*User:\s+0\s+Group:\s+0\b/);
  });

  it('leaves slot B empty for the first update', async () => {
    const b = readFileSync(await partitionFile('rootfs-b'));
    expect(b.length).toBe(img.sizes.slot);
    expect(b.equals(Buffer.alloc(b.length))).toBe(true);
  });

  it('has a clean, empty ext4 data partition labelled airpanel-data', () => {
    const data = `${img.image}?offset=${offsetOf('airpanel-data')}`;
    expect(run('e2fsck', ['-fn', data]).status).toBe(0);
    expect(must('dumpe2fs', ['-h', data]).stdout).toMatch(/Filesystem volume name:\s+airpanel-data/);
  });
});

describe('RAUC bundle (post-image.sh, Debian rauc)', () => {
  it('is a signed verity bundle that verifies with the keyring and system.conf of the image', () => {
    const r = must('rauc', ['--conf', raucConfForHost(img), 'info', '--output-format=json', '--keyring', img.signer.cert, img.bundle]);
    const info = JSON.parse(r.stdout) as {
      compatible: string;
      version: string;
      images: Record<string, { filename: string; checksum: string }>[];
    };
    expect(info.compatible).toBe(/^compatible=(.*)$/m.exec(readFileSync(join(img.target, 'etc/rauc/system.conf'), 'utf8'))?.[1]);
    expect(info.version).toBe(STAND_IN_IMAGE_VERSION);
    expect(info.images[0]!.rootfs!.checksum).toBe(sha256(join(img.binaries, 'rootfs.ext4')));
    expect(r.stderr).toMatch(/Verified inline signature/);
  });

  it('is refused by a panel that trusts another signer', () => {
    const other = makeSigningPair(img.dir, 'other');
    const r = run('rauc', ['--conf', raucConfForHost(img), 'info', '--keyring', other.cert, img.bundle]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/signature verification failed|self.signed|unable to get/i);
  });
});

describe('provisioning the image (inject / show)', () => {
  it('injects panel.json into the data partition; show and debugfs read it back identical', async () => {
    const cfgFile = join(img.dir, 'panel-pnl-0042.json');
    const config = panelConfig('pnl-0042');
    const bytes = `${JSON.stringify(config, null, 2)}\n`;
    writeFileSync(cfgFile, bytes, { mode: 0o600 });

    const outside = () => sha256Range(img.image, 0, offsetOf('airpanel-data'));
    const outsideBefore = outside();
    const c = cli();
    expect(await runCli(['inject', '--config', cfgFile, '--image', img.image], c.deps), c.err.join('\n')).toBe(0);
    expect(c.out.join('\n')).toMatch(/panel id\s+pnl-0042/);
    expect(c.out.join('\n')).toMatch(/Gare du Nord/);

    const data = `${img.image}?offset=${offsetOf('airpanel-data')}`;
    const dbg = (cmd: string) => must('debugfs', ['-R', cmd, data], { env: { DEBUGFS_PAGER: '__none__' } }).stdout;
    expect(dbg('cat /airpanel/panel.json')).toBe(bytes);
    expect(dbg('stat /airpanel/panel.json')).toMatch(/Mode:\s+0600[\s\S]*User:\s+1000\s+Group:\s+1000/);
    expect(dbg('stat /airpanel')).toMatch(/Mode:\s+0750[\s\S]*User:\s+1000\s+Group:\s+1000/);
    expect(run('e2fsck', ['-fn', data]).status).toBe(0);

    const s = cli();
    expect(await runCli(['show', '--image', img.image, '--json'], s.deps)).toBe(0);
    expect(`${s.out.join('\n')}\n`).toBe(bytes);
    // Only the data partition changed: the table, ESP and slots hash as before.
    expect(outside()).toBe(outsideBefore);
  });

  it('writes the CA beside panel.json and points caFile at its path on the panel', async () => {
    const { caPath } = await createTestPki(join(img.dir, 'ca'), 'Airpanel test broker CA');
    const cfgFile = join(img.dir, 'panel-ca.json');
    writeFileSync(cfgFile, JSON.stringify(panelConfig('pnl-0042')));
    const c = cli();
    expect(await runCli(['inject', '--config', cfgFile, '--image', img.image, '--ca', caPath], c.deps), c.err.join('\n')).toBe(0);
    const data = `${img.image}?offset=${offsetOf('airpanel-data')}`;
    const back = JSON.parse(must('debugfs', ['-R', 'cat /airpanel/panel.json', data]).stdout) as PanelConfig;
    expect(back.caFile).toBe('/data/airpanel/ca.pem');
    expect(must('debugfs', ['-R', 'cat /airpanel/ca.pem', data]).stdout).toBe(readFileSync(caPath, 'utf8'));
  });

  it('refuses to overwrite another panel without --force, leaving the image byte for byte', async () => {
    const cfgFile = join(img.dir, 'panel-other.json');
    writeFileSync(cfgFile, JSON.stringify(panelConfig('pnl-0099', 'Place de la Nation')));
    const before = sha256(img.image);
    const c = cli();
    expect(await runCli(['inject', '--config', cfgFile, '--image', img.image], c.deps)).toBe(1);
    expect(c.err.join('\n')).toMatch(/already holds panel pnl-0042 \(Gare du Nord\).*--force/);
    expect(sha256(img.image)).toBe(before);

    const f = cli();
    expect(await runCli(['inject', '--config', cfgFile, '--image', img.image, '--force'], f.deps), f.err.join('\n')).toBe(0);
    expect(f.out.join('\n')).toMatch(/replaced panel pnl-0042/);
    const s = cli();
    expect(await runCli(['show', '--image', img.image], s.deps)).toBe(0);
    expect(s.out.join('\n')).toMatch(/panel id:\s+pnl-0099/);
    expect(s.out.join('\n')).not.toMatch(/k-pnl-0099-0123456789abcdef0123456789abcdef/); // key masked
  });

  it('refuses an invalid panel.json and leaves the image untouched', async () => {
    const cfgFile = join(img.dir, 'bad.json');
    writeFileSync(cfgFile, JSON.stringify({ ...panelConfig('pnl-0100'), panelId: 'Not An Id!' }));
    const before = sha256(img.image);
    const c = cli();
    expect(await runCli(['inject', '--config', cfgFile, '--image', img.image, '--force'], c.deps)).toBe(1);
    expect(c.err.join('\n')).toMatch(/not a valid panel\.json: panelId/);
    expect(sha256(img.image)).toBe(before);
  });

  it('refuses an image without a data partition and leaves it untouched', async () => {
    const noData = join(img.dir, 'no-data.img');
    copyFileSync(img.image, noData);
    // Same disk, but the data partition is gone from the table.
    must('sfdisk', ['--delete', noData, '4']);
    const before = sha256(noData);
    const cfgFile = join(img.dir, 'panel-pnl-0042.json');
    const c = cli();
    expect(await runCli(['inject', '--config', cfgFile, '--image', noData], c.deps)).toBe(1);
    expect(c.err.join('\n')).toMatch(/no data partition: no GPT partition is named airpanel-data \(found: efi, rootfs-a, rootfs-b\)/);
    expect(sha256(noData)).toBe(before);
  });

  it('refuses a file that is not a disk image', async () => {
    const junk = join(img.dir, 'junk.img');
    writeFileSync(junk, Buffer.alloc(2 * MiB, 7));
    const before = sha256(junk);
    const c = cli();
    expect(await runCli(['inject', '--config', join(img.dir, 'panel-pnl-0042.json'), '--image', junk], c.deps)).toBe(1);
    expect(c.err.join('\n')).toMatch(/no readable partition table/);
    expect(sha256(junk)).toBe(before);
  });
});
