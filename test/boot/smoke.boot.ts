// The shortest boot, the one `npm test` runs at its end (`npm run test:boot:smoke`): the image
// built when dist/image has none (else reused), one power-on to the current level's content
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

/** dist/image's image, built from this checkout by `npm run image` when it is not there. */
function builtOrReusedImage(): ImageInfo {
  if (!existsSync(PRISTINE_IMAGE.replace(/\.img$/, '.json'))) {
    const t0 = performance.now();
    console.log('[boot] no image in dist/image: building it (npm run image)');
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
  /** The sensor, as a live one: the current reading again every 20 s (the backend keeps issuing documents). */
  let pm25 = 8;
  let feeder: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    image = builtOrReusedImage();
    panel = await BootPanel.create({ name: 'smoke', freshnessWindowSeconds: 300 });
    await panel.prepare(pm25);
    feeder = setInterval(() => void panel.backend.postReading(panel.sensorId, pm25).catch(() => undefined), 20_000);
  });

  afterAll(async () => {
    clearInterval(feeder);
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
    const before = await panel.display();
    const postedAt = performance.now();
    pm25 = 80;
    await panel.backend.postReading(panel.sensorId, pm25);
    const doc = await panel.waitForBackend(
      'document at level bad',
      () => panel.display(),
      (d) => d.level.id === 'bad',
      30_000,
    );
    expect(doc.revision).toBeGreaterThan(before.revision);
    const shown = await panel.waitForContent('level bad', doc, { timeoutMs: 180_000 });
    figures.add('new reading → new level on screen', (shown.at - postedAt) / 1000, 'MQTT push through guestfwd');
  });
});
