// The shortest boot, the one `npm test` runs at its end (`npm run test:boot:smoke`): the image
// built from the checkout when dist/image has none or an older one, one power-on to the current level's content
// on the QEMU screen with the backend seeing the panel, and one change (a new reading → the
// new level on screen). The rest of the boot suite runs with `npm run test:boot`.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootFigures } from './support/boot-figures.js';
import { BootPanel, readImageInfo, type ImageInfo } from './support/boot-panel.js';
import { PRISTINE_IMAGE, REPO } from './support/panel-image.js';
import { describeMatch } from './support/panel-screen.js';

/** When HEAD was committed (ms), or null outside a git checkout. */
function headCommitMs(): number | null {
  const r = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: REPO, encoding: 'utf8' });
  const seconds = Number(r.stdout?.trim());
  return r.status === 0 && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}

/**
 * dist/image's image, built from this checkout by `npm run image` when there is none or it is
 * older than the checkout's last commit (a test of the tree, not of an old image);
 * `AIRPANEL_BOOT_IMAGE` names one to boot as it is.
 */
function builtOrReusedImage(): ImageInfo {
  const infoFile = PRISTINE_IMAGE.replace(/\.img$/, '.json');
  if (process.env.AIRPANEL_BOOT_IMAGE) return readImageInfo();
  const head = headCommitMs();
  const reason = !existsSync(infoFile)
    ? 'no image in dist/image'
    : head !== null && Date.parse(readImageInfo().builtAt) < head
      ? 'the image in dist/image is older than the last commit'
      : null;
  if (reason) {
    const t0 = performance.now();
    console.log(`[boot] ${reason}: building it (npm run image)`);
    const r = spawnSync(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'image/cli.ts')], {
      cwd: REPO,
      stdio: 'inherit',
      timeout: 50 * 60_000,
      killSignal: 'SIGKILL',
    });
    if (r.status !== 0) throw new Error(`npm run image failed (${r.error?.message ?? `exit ${r.status}`})`);
    console.log(`[boot figure] image build: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  return readImageInfo();
}

describe('smoke boot: the image in QEMU, to content, one change', () => {
  let image: ImageInfo;
  const figures = new BootFigures('smoke');
  let panel: BootPanel;
  beforeAll(async () => {
    image = builtOrReusedImage();
    panel = await BootPanel.create({ name: 'smoke', freshnessWindowSeconds: 300 });
    await panel.prepare(8);
  });

  afterAll(async () => {
    await panel?.dispose();
    console.log(`[boot] figures: ${figures.save()}`);
  });

  it("technician's path → power-on → the current level's content on screen; the backend lists it online with the image's version", async () => {
    const doc = await panel.display();
    expect(doc.level.id).toBe('good');
    await panel.m.powerOn();
    const shown = await panel.waitForContent('first content', doc);
    figures.add('power-on → first content pixels', panel.m.sincePowerOn(shown.at), 'TCG, no KVM');
    console.log(`[boot] first content: ${describeMatch(shown.match)}; ${shown.png}`);
    const summary = await panel.waitForBackend(
      'panel online, displayed revision = current',
      () => panel.backend.panel(panel.panelId),
      (p) => p.online && p.displayedRevision !== null && p.displayedRevision === p.currentRevision,
      180_000,
    );
    expect(summary.firmwareVersion).toBe(image.version);
    expect(summary.lastError).toBeNull();
  });

  it('a new reading → the new level on the QEMU screen', async () => {
    const { shown, postedAt } = await panel.showNewReading(80, 'bad', 180_000);
    figures.add('new reading → new level on screen', (shown.at - postedAt) / 1000, 'MQTT push through guestfwd');
  });
});
