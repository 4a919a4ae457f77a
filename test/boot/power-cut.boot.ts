// Power cuts on the panel image in QEMU: QEMU is SIGKILLed (nothing the guest had not written
// reaches the disk) while the panel writes its cache and logs — readings arrive every two
// seconds, so documents keep coming and each is written to /data — several times at
// different moments. Every next boot must reach valid content by itself: the filesystems
// repaired without a person, the cache readable, nothing failed, the backend sees it live.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootFigures } from './support/boot-figures.js';
import { BootPanel } from './support/boot-panel.js';
import { ReadingFeeder } from '../harness/index.js';

/** Seconds after content is on screen (with readings flowing) at which each cut happens. */
const CUT_AFTER_SECONDS = [4, 11, 7];

describe('the panel image in QEMU: power cuts while it writes', () => {
  const figures = new BootFigures('power-cut');
  let panel: BootPanel;

  beforeAll(async () => {
    panel = await BootPanel.create({ name: 'power-cut', freshnessWindowSeconds: 90 });
    // Its own bursts of readings decide what the panel shows: no steady feed beside them.
    await panel.prepare(8, { liveFeed: false });
  });

  afterAll(async () => {
    await panel?.dispose();
    console.log(`[boot] figures: ${figures.save()}`);
  });

  async function backendSeesCurrent(): Promise<void> {
    await panel.waitForBackend(
      'panel online, displayed revision = current',
      () => panel.backend.panel(panel.panelId),
      (p) => p.online && p.displayedRevision !== null && p.displayedRevision === p.currentRevision,
      180_000,
    );
  }

  /** After a boot: filesystems mounted read-write where they should be, nothing failed, the cache parses. */
  async function healthyInside(): Promise<string> {
    const sh = panel.shell();
    expect((await sh.must('findmnt -no OPTIONS /data')).trim()).toMatch(/^rw,/);
    expect((await sh.must('findmnt -no OPTIONS /boot/efi')).trim()).toMatch(/^rw,/);
    // Units that failed in this boot (a failed fsck or mount would be here).
    expect((await sh.must('systemctl --failed --plain --no-legend --no-pager')).trim()).toBe('');
    await sh.must(
      'node -e \'for (const f of ["display.json", "revision.json"]) JSON.parse(require("fs").readFileSync("/data/airpanel/cache/" + f, "utf8"))\'',
    );
    // What repaired what (kept in the test log): fsck of the data partition and the ESP, ext4's journal replay.
    return sh.must(
      'journalctl -b --no-pager -o cat -u "systemd-fsck*" ; journalctl -b -k --no-pager -o cat | grep -iE "EXT4-fs \\(vda|FAT-fs" || true',
    );
  }

  it('first boot → content', async () => {
    await panel.m.powerOn();
    const shown = await panel.waitForContent('first content', await panel.display());
    figures.add('power-on → first content pixels (first boot)', panel.m.sincePowerOn(shown.at), 'TCG, no KVM');
    await backendSeesCurrent();
    await healthyInside();
  });

  for (const [i, seconds] of CUT_AFTER_SECONDS.entries()) {
    it(`power cut ${i + 1} of ${CUT_AFTER_SECONDS.length}, ${seconds} s into a burst of new documents → the next boot reaches valid content by itself`, async () => {
      const feeder = new ReadingFeeder(() => panel.backend.api, panel.sensorId, 2_000, 200).start();
      try {
        const revisionBefore = (await panel.display()).revision;
        await new Promise((r) => setTimeout(r, seconds * 1000));
        // The panel was taking documents when the power went.
        expect((await panel.display()).revision).toBeGreaterThan(revisionBefore);
        await panel.m.powerCut();
      } finally {
        feeder.stop();
      }
      await panel.m.powerOn();
      // Either fresh or with the stale badge: no document is renewed once readings stop (the
      // backend lets documents of a silent sensor lapse), and a slow boot can outlast the
      // freshness window. What counts is the current document on screen.
      const shown = await panel.waitForContent(`content after cut ${i + 1}`, await panel.display(), { stale: null });
      figures.add(`power cut ${i + 1} → content`, panel.m.sincePowerOn(shown.at));
      await backendSeesCurrent();
      console.log(`[boot] after cut ${i + 1}:\n${await healthyInside()}`);
    });
  }
});
