// The mark-good script of the image, run for real with /bin/sh. systemctl and rauc are stand-in
// programs on PATH (this test is about the script's decisions, not about systemd or RAUC):
// systemctl answers from files the test writes, rauc records how it was called.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD, must, run, tempDir } from './image-fixture.js';

const SCRIPT = join(BOARD, 'common/rootfs-overlay/usr/libexec/airpanel/mark-good');
let t: ReturnType<typeof tempDir>;

function program(name: string, body: string): void {
  const p = join(t.dir, 'bin', name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
}

beforeAll(() => {
  t = tempDir('airpanel-mark-good-');
  must('mkdir', ['-p', join(t.dir, 'bin')]);
  // NRestarts: first call reads restarts.0, later calls restarts.1 (before and after the settle time).
  program(
    'systemctl',
    `state=${t.dir}
case "$1" in
show) if [ "$2" = --property=StatusText ]; then cat "$state/status-text";
  elif [ -e "$state/called" ]; then cat "$state/restarts.1"; else touch "$state/called"; cat "$state/restarts.0"; fi ;;
is-active) exit "$(cat "$state/active")" ;;
reboot) touch "$state/rebooted" ;;
*) exit 3 ;;
esac`,
  );
  // `rauc status --output-format=shell` answers from a file; the marking calls are recorded.
  program('rauc', `if [ "$*" = "status --output-format=shell" ]; then cat ${t.dir}/rauc.status; else echo "$@" > ${t.dir}/rauc.args; fi`);
});

/** What `rauc status --output-format=shell` prints (RAUC 1.x formatter): A booted, B as given. */
function raucStatus(b: 'good' | 'bad', primary = 'rootfs.0'): string {
  return [
    `RAUC_SYSTEM_COMPATIBLE='airpanel-x86_64'`,
    `RAUC_SYSTEM_VARIANT=''`,
    `RAUC_SYSTEM_BOOTED_BOOTNAME='A'`,
    `RAUC_BOOT_PRIMARY='${primary}'`,
    `RAUC_SYSTEM_SLOTS='rootfs.1 rootfs.0'`,
    `RAUC_SLOTS='1 2'`,
    `RAUC_SLOT_STATE_1='inactive'`,
    `RAUC_SLOT_CLASS_1='rootfs'`,
    `RAUC_SLOT_DEVICE_1='/dev/disk/by-partlabel/rootfs-b'`,
    `RAUC_SLOT_TYPE_1='ext4'`,
    `RAUC_SLOT_BOOTNAME_1='B'`,
    `RAUC_SLOT_PARENT_1=''`,
    `RAUC_SLOT_MOUNTPOINT_1=''`,
    `RAUC_SLOT_BOOT_STATUS_1='${b}'`,
    `RAUC_SLOT_STATE_2='booted'`,
    `RAUC_SLOT_CLASS_2='rootfs'`,
    `RAUC_SLOT_DEVICE_2='/dev/disk/by-partlabel/rootfs-a'`,
    `RAUC_SLOT_TYPE_2='ext4'`,
    `RAUC_SLOT_BOOTNAME_2='A'`,
    `RAUC_SLOT_PARENT_2=''`,
    `RAUC_SLOT_MOUNTPOINT_2='/'`,
    `RAUC_SLOT_BOOT_STATUS_2='good'`,
    '',
  ].join('\n');
}
afterAll(() => t?.remove());

/** The booted slot's boot: seconds since power-on (/proc/uptime) and the kernel command line. */
interface Boot {
  uptimeSeconds: number;
  cmdline: string;
  statusText?: string;
}
const FRESH_BOOT: Boot = { uptimeSeconds: 100, cmdline: 'ro rauc.slot=A' };

function markGood(restartsBefore: number, restartsAfter: number, active: boolean, status = raucStatus('good'), boot = FRESH_BOOT) {
  for (const f of ['called', 'rauc.args', 'rebooted']) must('rm', ['-f', join(t.dir, f)]);
  writeFileSync(join(t.dir, 'rauc.status'), status);
  writeFileSync(join(t.dir, 'restarts.0'), `${restartsBefore}\n`);
  writeFileSync(join(t.dir, 'restarts.1'), `${restartsAfter}\n`);
  writeFileSync(join(t.dir, 'active'), active ? '0' : '3');
  writeFileSync(join(t.dir, 'uptime'), `${boot.uptimeSeconds}.42 ${boot.uptimeSeconds * 2}.17\n`);
  writeFileSync(join(t.dir, 'cmdline'), `${boot.cmdline}\n`);
  // airpanel.service's STATUS= (systemctl show --property=StatusText): the core's state name.
  writeFileSync(join(t.dir, 'status-text'), `${boot.statusText ?? 'live'}\n`);
  const r = run('sh', [SCRIPT], {
    env: {
      PATH: `${join(t.dir, 'bin')}:/usr/bin:/bin`,
      AIRPANEL_SETTLE_SECONDS: '0',
      AIRPANEL_UPTIME_FILE: join(t.dir, 'uptime'),
      AIRPANEL_KERNEL_CMDLINE: join(t.dir, 'cmdline'),
    },
  });
  const rauc = existsSync(join(t.dir, 'rauc.args')) ? readFileSync(join(t.dir, 'rauc.args'), 'utf8').trim() : null;
  return { ...r, rauc, rebooted: existsSync(join(t.dir, 'rebooted')) };
}

describe('usr/libexec/airpanel/mark-good', () => {
  it('marks the slot good when the app stayed up without restarting', () => {
    const r = markGood(0, 0, true);
    expect(r.status, r.stderr).toBe(0);
    expect(r.rauc).toBe('status mark-good');
  });

  it('leaves the boot order alone while the other slot is good (an installed update waits for the next boot)', () => {
    const r = markGood(0, 0, true, raucStatus('good', 'rootfs.1'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.rauc).toBe('status mark-good');
  });

  it('after a rollback (the other slot never confirmed) puts the booted slot first, so the failed one is not retried', () => {
    // GRUB's primary skips a slot with TRY=1, so RAUC names the booted one primary although ORDER still starts with B.
    const r = markGood(0, 0, true, raucStatus('bad', 'rootfs.0'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.rauc).toBe('status mark-active booted');
    expect(r.stdout).toMatch(/slot rootfs\.1 is not bootable or was never confirmed/);
  });

  it('leaves the slot unconfirmed when the app restarted during the settle time', () => {
    const r = markGood(0, 1, true);
    expect(r.status).toBe(1);
    expect(r.rauc).toBeNull();
    expect(r.stderr).toMatch(/restarted during the last 0s/);
  });

  it('leaves the slot unconfirmed when the app is not active', () => {
    const r = markGood(2, 2, false);
    expect(r.status).toBe(1);
    expect(r.rauc).toBeNull();
    expect(r.stderr).toMatch(/is not active/);
    expect(r.rebooted).toBe(false);
  });

  it('falls back: the app still not healthy 600 s after boot and the other slot good → reboot (GRUB skips the tried slot)', () => {
    const r = markGood(4, 4, false, raucStatus('good'), { uptimeSeconds: 600, cmdline: 'ro rauc.slot=A' });
    expect(r.status).toBe(1);
    expect(r.rebooted).toBe(true);
    expect(r.rauc).toBeNull();
    expect(r.stderr).toMatch(/not healthy 600s after boot \(deadline 600s\): rebooting into the other slot/);
    // An app that restarts and is active at the moment of the check is not healthy either.
    expect(markGood(4, 5, true, raucStatus('good'), { uptimeSeconds: 900, cmdline: '' }).rebooted).toBe(true);
  });

  it('does not fall back before the deadline, nor without a good slot to fall back to', () => {
    expect(markGood(0, 0, false, raucStatus('good'), { uptimeSeconds: 599, cmdline: 'ro' }).rebooted).toBe(false);
    const noOther = markGood(0, 0, false, raucStatus('bad'), { uptimeSeconds: 5_000, cmdline: 'ro' });
    expect(noOther.status).toBe(1);
    expect(noOther.rebooted).toBe(false);
  });

  it('does not confirm a slot whose app can only show the maintenance screen (READY=1 with STATUS=maintenance RND-1), and falls back after the deadline', () => {
    const early = markGood(0, 0, true, raucStatus('good'), { uptimeSeconds: 200, cmdline: 'ro', statusText: 'maintenance RND-1' });
    expect(early.status).toBe(1);
    expect(early.rauc).toBeNull();
    expect(early.rebooted).toBe(false);
    expect(early.stderr).toMatch(/shows the maintenance screen/);
    expect(markGood(0, 0, true, raucStatus('good'), { uptimeSeconds: 700, cmdline: 'ro', statusText: 'maintenance APP-1' }).rebooted).toBe(
      true,
    );
    expect(markGood(0, 0, true, raucStatus('good'), { uptimeSeconds: 700, cmdline: 'ro', statusText: 'stale' }).rauc).toBe(
      'status mark-good',
    );
  });

  it('takes the deadline from the kernel command line (airpanel.confirm_deadline=)', () => {
    const boot = (uptimeSeconds: number): Boot => ({ uptimeSeconds, cmdline: 'ro airpanel.confirm_deadline=240 quiet' });
    expect(markGood(0, 0, false, raucStatus('good'), boot(239)).rebooted).toBe(false);
    expect(markGood(0, 0, false, raucStatus('good'), boot(240)).rebooted).toBe(true);
  });
});

describe('usr/libexec/airpanel/journal-prune', () => {
  it('keeps the journals of the 3 newest boots and nothing else is touched', () => {
    const dir = join(t.dir, 'journal');
    const ids = Array.from({ length: 5 }, (_, i) => `${i}`.repeat(32));
    must('mkdir', ['-p', ...ids.map((id) => join(dir, id)), join(dir, 'not-a-boot')]);
    ids.forEach((id, i) => must('touch', ['-d', `2026-01-0${i + 1} 12:00`, join(dir, id)]));
    const r = must('sh', [join(BOARD, 'common/rootfs-overlay/usr/libexec/airpanel/journal-prune'), dir]);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(must('ls', [dir]).stdout.trim().split('\n').sort()).toEqual([ids[2], ids[3], ids[4], 'not-a-boot'].sort());
    expect(must('sh', [join(BOARD, 'common/rootfs-overlay/usr/libexec/airpanel/journal-prune'), join(t.dir, 'absent')]).status).toBe(0);
  });
});

describe('usr/libexec/airpanel/wait-seatd', () => {
  it('returns at once when seatd listens', async () => {
    const sock = join(t.dir, 'seatd.sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const r = run('sh', [join(BOARD, 'common/rootfs-overlay/usr/libexec/airpanel/wait-seatd')], { env: { SEATD_SOCK: sock } });
      expect(r.status, r.stderr).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('gives up after its time when there is no seat (no hang)', () => {
    const r = run('sh', [join(BOARD, 'common/rootfs-overlay/usr/libexec/airpanel/wait-seatd')], {
      env: { SEATD_SOCK: join(t.dir, 'none.sock'), SEATD_WAIT_SECONDS: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no .*none\.sock after 1 s/);
  });
});

describe('post-image.sh input checks', () => {
  it('refuses to run without the GRUB EFI binary or the root filesystem', () => {
    const bin = join(t.dir, 'images');
    must('mkdir', ['-p', bin]);
    const r = run('sh', [join(BOARD, 'x86_64/post-image.sh'), bin], { env: { TARGET_DIR: t.dir } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no GRUB EFI image/);
    must('mkdir', ['-p', join(bin, 'efi-part/EFI/BOOT')]);
    writeFileSync(join(bin, 'efi-part/EFI/BOOT/bootx64.efi'), 'x');
    const r2 = run('sh', [join(BOARD, 'x86_64/post-image.sh'), bin], { env: { TARGET_DIR: t.dir } });
    expect(r2.stderr).toMatch(/no .*rootfs\.ext4/);
    expect(existsSync(join(bin, 'airpanel-x86_64.img'))).toBe(false);
  });

  it('post-build.sh refuses an image without an update keyring', () => {
    const target = join(t.dir, 'target');
    must('mkdir', ['-p', target]);
    const r = run('sh', [join(BOARD, 'common/post-build.sh'), target], { env: { TARGET_DIR: target, AIRPANEL_RAUC_KEYRING: '' } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no RAUC keyring/);
  });

  it('post-build.sh refuses an image without the OTA loader or the factory bundle the kiosk unit starts', () => {
    const target = join(t.dir, 'target-no-loader');
    must('mkdir', ['-p', target]);
    writeFileSync(join(t.dir, 'keyring.pem'), 'placeholder keyring');
    const r = run('sh', [join(BOARD, 'common/post-build.sh'), target], {
      env: { TARGET_DIR: target, AIRPANEL_RAUC_KEYRING: join(t.dir, 'keyring.pem') },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\/opt\/airpanel\/airpanel is missing: airpanel.service could not start the app/);
  });

  it('post-build.sh refuses an image without its release floor', () => {
    const target = join(t.dir, 'target-no-floor');
    for (const f of [
      'opt/airpanel/airpanel',
      'opt/airpanel/resources/app/main.mjs',
      'opt/airpanel/resources/app/runtime.json',
      'usr/lib/airpanel/factory/bundle.json',
      'usr/lib/airpanel/host.env',
    ]) {
      must('mkdir', ['-p', dirname(join(target, f))]);
      writeFileSync(join(target, f), 'placeholder');
    }
    writeFileSync(join(t.dir, 'keyring.pem'), 'placeholder keyring');
    const r = run('sh', [join(BOARD, 'common/post-build.sh'), target], {
      env: { TARGET_DIR: target, AIRPANEL_RAUC_KEYRING: join(t.dir, 'keyring.pem') },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\/usr\/lib\/airpanel\/release-floor\.json is missing: the image must ship its release floor/);
  });
});
