// Updates on the booted panel image in QEMU, one machine:
//  - OS update A/B with RAUC: the signed bundle of a second image version (built by
//    `npm run image`) is installed into the other slot on the running panel, which reboots
//    into it; the slot is marked good only once the app is healthy (READY=1, then stable).
//  - A/B fall-back: an OS bundle whose app never becomes healthy (images.ts) is installed and
//    booted; that boot is never confirmed, mark-good reboots once it passes its deadline
//    (600 s, the product default), GRUB skips the tried slot and boots the previous one, which
//    goes first again.
//  - App OTA: `npm run release -- publish` of a bundle → the panel installs it, restarts,
//    commits; a release that crashes at start → rolled back, reported to the backend.
// The RAUC bundle reaches the guest on a read-only disk (/dev/vdb): /data is smaller than the
// bundle and the guest reaches nothing but the backend's two forwarded ports.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BootFigures } from './support/boot-figures.js';
import { BOOT_TO_CONTENT_TIMEOUT_MS, BootPanel, readImageInfo, type ImageInfo } from './support/boot-panel.js';
import { IMAGE_KEYS_DIR, appBundle, crashingBundle, diskWithFiles, ensureImage, unhealthyOsBundle } from './support/images.js';
import { PRISTINE_IMAGE, REPO } from './support/panel-image.js';

const SECOND_IMAGE_VERSION = '0.1.1';
const UNHEALTHY_OS_VERSION = '0.1.2';
/** mark-good's deadline (600 s, the product default: no test setting), the settle and start-timeout periods it waits behind, a shutdown. */
const FALLBACK_TIMEOUT_MS = 20 * 60_000;

const RaucStatus = z.object({
  booted: z.string(),
  slots: z.array(
    z.record(z.string(), z.object({ bootname: z.string().optional(), state: z.string(), boot_status: z.string().optional() })),
  ),
});

const ReleasePanels = z.object({
  panels: z.array(
    z.object({
      panelId: z.string(),
      runningVersion: z.string().nullable(),
      lastUpdate: z.object({ phase: z.string(), targetVersion: z.string().nullable(), detail: z.string().nullable() }).nullable(),
    }),
  ),
});

describe('the panel image in QEMU: OS update A/B (RAUC) and app OTA', () => {
  const figures = new BootFigures('updates');
  let first: ImageInfo;
  let second: ImageInfo;
  let unhealthyBundle: string;
  let panel: BootPanel;

  beforeAll(async () => {
    first = readImageInfo();
    second = ensureImage({ version: SECOND_IMAGE_VERSION, outDir: join(REPO, 'dist/image-b'), builtAfter: first.image });
    expect(second.version).not.toBe(first.version);
    unhealthyBundle = unhealthyOsBundle({ from: second, version: UNHEALTHY_OS_VERSION, outDir: join(REPO, 'dist/image-unhealthy') });
    // The disk is attached at each power-on; it is made once the work dir exists.
    const disk = join(BootPanel.workDirOf('updates'), 'bundles.ext4');
    // Reboots into the firmware after each install: a firmware that hangs there (seen once under
    // TCG, spinning in OVMF's DXE phase after `systemctl reboot`) is reset by the armed watchdog
    // (RebootWatchdogSec=5min), as a panel PC's would be.
    panel = await BootPanel.create({
      name: 'updates',
      freshnessWindowSeconds: 120,
      pristineImage: PRISTINE_IMAGE,
      extraDisks: [disk],
      watchdogResets: true,
    });
    await panel.prepare(8);
    diskWithFiles([second.bundle, unhealthyBundle], disk);
  });

  afterAll(async () => {
    await panel?.dispose();
    console.log(`[boot] figures: ${figures.save()}`);
  });

  async function raucStatus(): Promise<z.infer<typeof RaucStatus>> {
    return RaucStatus.parse(JSON.parse(await panel.shell().must('rauc status --output-format=json 2>/dev/null')));
  }

  function slotOf(status: z.infer<typeof RaucStatus>, bootname: string): { state: string; boot_status?: string | undefined } {
    for (const entry of status.slots) for (const slot of Object.values(entry)) if (slot.bootname === bootname) return slot;
    throw new Error(`no slot ${bootname} in rauc status`);
  }

  async function grubenv(): Promise<Record<string, string>> {
    const text = await panel.shell().must('grub-editenv /boot/efi/EFI/BOOT/grubenv list');
    return Object.fromEntries(
      text
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  /** The disk with the bundles, mounted read-only (again after each reboot: /run is a tmpfs). */
  async function bundlesDisk(): Promise<string> {
    await panel
      .shell()
      .must('mkdir -p /run/boot-test-files && { mountpoint -q /run/boot-test-files || mount -o ro /dev/vdb /run/boot-test-files; }');
    return '/run/boot-test-files';
  }

  /** The panel's report of why its app started (backend summary's lastStart), made after the host time `after`. */
  async function backendSaysLastStart(reason: string, bootedSlot: string, after: number): Promise<void> {
    const since = Date.now() - (performance.now() - after) - 60_000;
    const p = await panel.waitForBackend(
      `lastStart ${reason} on slot ${bootedSlot}`,
      () => panel.backend.panel(panel.panelId),
      (x) => x.lastStart?.reason === reason && x.lastStart.bootedSlot === bootedSlot && Date.parse(x.lastStart.at) >= since,
      180_000,
    );
    console.log(`[boot] lastStart: ${JSON.stringify(p.lastStart)}`);
  }

  async function backendFirmware(version: string, timeoutMs = 240_000): Promise<void> {
    await panel.waitForBackend(
      `panel online with firmware ${version}`,
      () => panel.backend.panel(panel.panelId),
      (p) => p.online && p.firmwareVersion === version && p.displayedRevision === p.currentRevision,
      timeoutMs,
    );
  }

  it('boots slot A to content, the backend sees its firmware version, slot A is marked good', async () => {
    await panel.m.powerOn();
    const shown = await panel.waitForContent('first content', await panel.display());
    figures.add('power-on → first content pixels (first boot)', panel.m.sincePowerOn(shown.at), 'TCG, no KVM');
    await backendFirmware(first.version);
    expect((await raucStatus()).booted).toBe('A');
    await panel.waitForBackend('slot A marked good', raucStatus, (s) => slotOf(s, 'A').boot_status === 'good', 180_000);
  });

  it(`RAUC bundle of image ${SECOND_IMAGE_VERSION} installed into slot B, reboot → B runs, marked good only once the app is healthy`, async () => {
    const sh = panel.shell();
    const dir = await bundlesDisk();
    const installedAt = performance.now();
    const out = await sh.must(`rauc install ${dir}/${basename(second.bundle)} 2>&1`, 20 * 60_000);
    figures.add('rauc install of the OS bundle (TCG)', (performance.now() - installedAt) / 1000);
    expect(out).toMatch(/succeeded/i);
    const env = await grubenv();
    expect(env.ORDER).toMatch(/^B/);
    expect(env.B_OK).toBe('1');

    const reset = panel.m.waitForReset(180_000);
    const rebootAt = performance.now();
    await panel.shell().send('systemctl reboot');
    await reset;
    const shown = await panel.waitForContent('content on slot B', await panel.display());
    figures.add('reboot into the updated slot → content', (shown.at - rebootAt) / 1000);
    // Content alone does not say which slot drew it: a tried boot of B that crashes falls back
    // to A (as it should); say so with the guest's own last words rather than a firmware mismatch.
    const booted = (await raucStatus()).booted;
    if (booted !== 'B') {
      const crash = readFileSync(panel.m.consoleLog, 'utf8')
        .split('\n')
        .filter((line) => /Kernel panic|Oops|watchdog: BUG|reboot: Restarting/.test(line))
        .slice(-4);
      throw new Error(
        `slot ${booted} booted instead of B (GRUB fell back); the guest console's last crash lines: ${crash.join(' | ') || 'none'}`,
      );
    }
    await backendFirmware(second.version);
    await backendSaysLastStart('os-update', 'B', rebootAt);
    const status = await raucStatus();
    expect(status.booted).toBe('B');
    await panel.waitForBackend('slot B marked good', raucStatus, (s) => slotOf(s, 'B').boot_status === 'good', 240_000);
    expect((await grubenv()).B_TRY).toBe('0');
    // Marked good after airpanel.service reported READY=1 (Type=notify: "Started" is READY)
    // and then stayed up for mark-good's settle time (60 s) without a restart.
    const log = await panel.shell().must('journalctl -b --no-pager -o short-monotonic -u airpanel.service -u airpanel-mark-good.service');
    const at = (pattern: RegExp): number => {
      const line = log.split('\n').find((l) => pattern.test(l));
      if (!line) throw new Error(`journal has no line matching ${pattern}:\n${log.slice(-3_000)}`);
      return Number(/^\[\s*([\d.]+)\]/.exec(line)![1]);
    };
    const readyAt = at(/Started airpanel\.service/);
    const markedAt = at(/marked slot rootfs\.1 as good/);
    expect(markedAt - readyAt).toBeGreaterThanOrEqual(60);
    figures.add('READY=1 on the new slot → slot marked good', markedAt - readyAt, 'mark-good settle 60 s');
  });

  it(`an OS bundle whose app never becomes healthy (${UNHEALTHY_OS_VERSION}) → tried once, GRUB falls back to slot B, which goes first again`, async () => {
    const sh = panel.shell();
    const dir = await bundlesDisk();
    const installedAt = performance.now();
    const out = await sh.must(`rauc install ${dir}/${basename(unhealthyBundle)} 2>&1`, 20 * 60_000);
    figures.add('rauc install of the unhealthy OS bundle (TCG)', (performance.now() - installedAt) / 1000);
    expect(out).toMatch(/succeeded/i);
    let env = await grubenv();
    expect(env.ORDER).toMatch(/^A/);
    expect([env.A_OK, env.A_TRY, env.B_OK, env.B_TRY]).toEqual(['1', '0', '1', '0']);

    const tried = panel.m.waitForReset(180_000);
    const rebootAt = performance.now();
    await sh.send('systemctl reboot');
    await tried;
    const triedAt = performance.now();
    // The next reset is mark-good's reboot; listened for now, while the tried boot is checked.
    const fallback = panel.m.waitForReset(FALLBACK_TIMEOUT_MS);
    fallback.catch(() => undefined);
    // Nothing typed into the serial ports while the firmware and GRUB run.
    await new Promise((r) => setTimeout(r, 90_000));
    // The tried boot: slot A with the unhealthy app, counted as a try, the app never started.
    // No content to wait for here: the shell and RAUC (after /data) may take minutes under load.
    await panel.shell().must('systemctl start rauc.service', 8 * 60_000);
    const onTried = await raucStatus();
    expect(onTried.booted).toBe('A');
    expect(slotOf(onTried, 'A').boot_status).toBe('bad');
    expect(slotOf(onTried, 'B').boot_status).toBe('good');
    env = await grubenv();
    expect([env.A_TRY, env.B_TRY]).toEqual(['1', '0']);
    await panel.waitForBackend(
      'the unhealthy factory app started and exited (guest journal)',
      () => panel.shell().must('journalctl -b --no-pager -o cat | grep -c "the factory app exits at start" || true'),
      (n) => Number(n.trim()) >= 2,
      300_000,
    );
    expect((await panel.shell().run('systemctl is-active --quiet airpanel.service')).code).not.toBe(0);
    await panel.m.screendump('tried-slot-unhealthy');

    await fallback;
    figures.add(
      "reboot into the unhealthy slot → mark-good's fall-back reboot",
      (performance.now() - triedAt) / 1000,
      'deadline 600 s after boot',
    );
    const shown = await panel.waitForContent('content on slot B after the fall-back', await panel.display());
    figures.add('fall-back reboot → content on the previous slot', (shown.at - triedAt) / 1000);
    figures.add('installed unhealthy update: reboot → content again (total)', (shown.at - rebootAt) / 1000);
    await backendFirmware(second.version);
    // The panel says so: RAUC activated slot A (the install), slot B booted.
    await backendSaysLastStart('slot-fallback', 'B', triedAt);
    const status = await raucStatus();
    expect(status.booted).toBe('B');
    // The fallen-back slot goes first again (mark-active), the unhealthy one stays unconfirmed.
    await panel.waitForBackend(
      'slot B primary and good again',
      async () => ({ s: await raucStatus(), env: await grubenv() }),
      ({ s, env: e }) => slotOf(s, 'B').boot_status === 'good' && /^B/.test(e.ORDER ?? ''),
      300_000,
    );
    env = await grubenv();
    expect([env.A_TRY, env.B_TRY]).toEqual(['1', '0']);
    expect(slotOf(await raucStatus(), 'A').boot_status).toBe('bad');
    const before = await panel.shell().must('journalctl -b -1 --no-pager -u airpanel-mark-good.service');
    expect(before).toMatch(/not healthy \d+s after boot \(deadline 600s\): rebooting into the other slot/);
    const now = await panel.shell().must('journalctl -b --no-pager -u airpanel-mark-good.service');
    expect(now).toMatch(/slot rootfs\.0 is not bootable or was never confirmed: the booted slot goes first/);
  });

  it('app OTA: a published release → installed, restarted, committed; the backend sees it', async () => {
    const bundle = appBundle('0.2.0', panel.workDir);
    publish(bundle, '0.2.0');
    await panel.backend.sendCommand(panel.panelId, 'check-update');
    const start = performance.now();
    await backendFirmware('0.2.0', 10 * 60_000);
    figures.add('app OTA: check-update → running the new release', (performance.now() - start) / 1000);
    await panel.waitForContent('content on release 0.2.0', await panel.display(), { timeoutMs: BOOT_TO_CONTENT_TIMEOUT_MS });
    // The loader commits a trial once the app reports healthy (content painted and the backend
    // reached), which can come after the first pixels: wait for it rather than read it once.
    const report = await panel.waitForBackend('release 0.2.0 committed', releasePanel, (p) => p.lastUpdate?.phase === 'committed', 300_000);
    expect(report.runningVersion).toBe('0.2.0');
    const state = await panel.shell().must('cat /data/airpanel/releases/loader-state.json');
    expect(state).toContain('"current":"0.2.0"');
  });

  it('app OTA: a release that crashes at start → rolled back to the committed one, reported', async () => {
    publish(crashingBundle('0.2.1', panel.workDir), '0.2.1');
    await panel.backend.sendCommand(panel.panelId, 'check-update');
    await panel.waitForBackend(
      'rollback reported',
      releasePanel,
      (p) => p.lastUpdate?.phase === 'rolled-back' && p.lastUpdate.targetVersion === '0.2.1',
      10 * 60_000,
    );
    await backendFirmware('0.2.0', 240_000);
    await panel.waitForContent('content after rollback', await panel.display(), { timeoutMs: BOOT_TO_CONTENT_TIMEOUT_MS });
    const state = await panel.shell().must('cat /data/airpanel/releases/loader-state.json');
    expect(state).toContain('"current":"0.2.0"');
    expect(state).toMatch(/"refused":\[[^\]]*"0\.2\.1"/);
  });

  function publish(bundle: string, version: string): void {
    const r = spawnSync(
      join(REPO, 'node_modules/.bin/tsx'),
      [
        join(REPO, 'tools/release/cli.ts'),
        'publish',
        '--bundle',
        bundle,
        '--version',
        version,
        '--channel',
        'stable',
        '--share',
        '100%',
        '--key',
        join(IMAGE_KEYS_DIR, 'release-dev.key'),
        '--ledger',
        join(panel.workDir, 'release-ledger.json'),
        '--server',
        panel.backend.url,
        '--token',
        panel.backend.adminToken,
      ],
      { cwd: REPO, encoding: 'utf8', timeout: 300_000 },
    );
    if (r.status !== 0) throw new Error(`release publish ${version} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }

  async function releasePanel(): Promise<z.infer<typeof ReleasePanels>['panels'][number]> {
    const all = ReleasePanels.parse(await panel.backend.api.http.get('releases/panels').json());
    const p = all.panels.find((x) => x.panelId === panel.panelId);
    if (!p) throw new Error('the backend has no release status for the panel');
    return p;
  }
});
