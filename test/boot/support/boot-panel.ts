// One provisioned panel PC for a boot test: the backend on 127.0.0.1, the technician's path
// (register + inject into a copy of the image), the QEMU machine, the host's reference
// drawings and the test-only root shell, with the waits every boot test needs.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DisplayDocument } from '@airpanel/contract';
import { BootBackend } from './boot-backend.js';
import { GuestShell } from './guest-shell.js';
import { HostReference } from './host-reference.js';
import { ExpectedLooks, describeMatch, matchContent, type ContentMatch } from './panel-screen.js';
import { PRISTINE_IMAGE, REPO, provisionImageCopy, type ProvisionedImage } from './panel-image.js';
import { QemuMachine, type ScreenWait } from './qemu-machine.js';

/** What `npm run image` writes beside the image (image/README.md). */
const ImageInfo = z.object({ version: z.string().min(1), image: z.string(), bundle: z.string(), builtAt: z.string() });
export type ImageInfo = z.infer<typeof ImageInfo>;

export function readImageInfo(image = PRISTINE_IMAGE): ImageInfo {
  const file = image.replace(/\.img$/, '.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run image\``);
  return ImageInfo.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export interface BootPanelOptions {
  /** Names the work dir, the artifacts dir and the panel id. */
  name: string;
  /** panel.json's freshness window; the backend re-issues documents every third of it. */
  freshnessWindowSeconds?: number;
  pristineImage?: string;
  /** Read-only raw disks for the guest (/dev/vdb…), e.g. one holding a RAUC bundle. */
  extraDisks?: string[];
  /** The chipset watchdog resets the machine, as on a panel PC (QemuMachineOptions). */
  watchdogResets?: boolean;
}

/** Every wait for pixels allows this much: a first boot under TCG on a loaded 2-core host. */
export const BOOT_TO_CONTENT_TIMEOUT_MS = 8 * 60_000;

export class BootPanel {
  readonly backend: BootBackend;
  readonly reference = new HostReference();
  readonly looks: ExpectedLooks;
  readonly panelId: string;
  readonly sensorId: string;
  readonly workDir: string;
  readonly artifactsDir: string;
  image: ProvisionedImage | null = null;
  machine: QemuMachine | null = null;
  private shellOfBoot: { boot: number; shell: GuestShell } | null = null;
  /** The sensor's current PM2.5, posted again every 20 s once the feed runs. */
  private pm25 = 0;
  private feed: NodeJS.Timeout | undefined;

  private constructor(
    private readonly o: BootPanelOptions,
    backend: BootBackend,
  ) {
    this.backend = backend;
    this.looks = new ExpectedLooks(this.reference);
    this.panelId = `boot-${o.name}`;
    this.sensorId = `boot-${o.name}-sensor`;
    this.workDir = BootPanel.workDirOf(o.name);
    this.artifactsDir = join(REPO, 'artifacts/boot', o.name);
  }

  /** Where a panel's image copy, overlay, sockets and logs go (git-ignored). */
  static workDirOf(name: string): string {
    return join(REPO, '.scratch/boot', name);
  }

  static async create(o: BootPanelOptions): Promise<BootPanel> {
    const refresh = Math.max(10, Math.floor((o.freshnessWindowSeconds ?? 900) / 3));
    return new BootPanel(o, await BootBackend.create({ refreshIntervalSeconds: refresh }));
  }

  /**
   * Backend up with a sensor and a first reading, the image copy provisioned, the machine made.
   * The sensor then behaves as a live one (unless `liveFeed: false`): the current reading again
   * every 20 s, so the backend keeps issuing documents and a slow boot still finds its content
   * live when it paints.
   */
  async prepare(firstPm25: number, o: { liveFeed?: boolean } = {}): Promise<void> {
    mkdirSync(this.workDir, { recursive: true });
    await this.backend.start();
    await this.backend.createSensor(this.sensorId);
    this.pm25 = firstPm25;
    await this.backend.postReading(this.sensorId, firstPm25);
    if (o.liveFeed !== false)
      this.feed = setInterval(() => void this.backend.postReading(this.sensorId, this.pm25).catch(() => undefined), 20_000);
    await this.reference.start();
    this.image = provisionImageCopy({
      pristine: this.o.pristineImage ?? PRISTINE_IMAGE,
      workDir: this.workDir,
      panelId: this.panelId,
      apiUrl: this.backend.url,
      adminToken: this.backend.adminToken,
      sensorId: this.sensorId,
      ...(this.o.freshnessWindowSeconds !== undefined ? { freshnessWindowSeconds: this.o.freshnessWindowSeconds } : {}),
    });
    this.machine = new QemuMachine({
      name: this.o.name,
      baseImage: this.image.image,
      workDir: this.workDir,
      artifactsDir: this.artifactsDir,
      guestForwards: this.backend.guestForwards(),
      debugSerial: true,
      extraDisks: this.o.extraDisks ?? [],
      watchdogResets: this.o.watchdogResets ?? false,
    });
    this.machine.create();
  }

  get m(): QemuMachine {
    if (!this.machine) throw new Error('prepare() first');
    return this.machine;
  }

  /** The test-only root shell of the current boot (a new connection after each power-on). */
  shell(): GuestShell {
    if (!this.shellOfBoot || this.shellOfBoot.boot !== this.m.boot) {
      this.shellOfBoot?.shell.close();
      this.shellOfBoot = { boot: this.m.boot, shell: new GuestShell(this.m.debugSocket) };
    }
    return this.shellOfBoot.shell;
  }

  display(): Promise<DisplayDocument> {
    return this.backend.display(this.panelId);
  }

  /**
   * Waits until the screen shows `doc`'s look, with the stale badge (`stale: true`), without
   * it (default), or either (`stale: null`). Every screenshot is kept;
   * the failure names the last one and how far it was from the reference.
   */
  async waitForContent(
    what: string,
    doc: DisplayDocument,
    o: { stale?: boolean | null; timeoutMs?: number } = {},
  ): Promise<ScreenWait & { match: ContentMatch }> {
    const expected = await this.looks.of(doc, o.stale === undefined ? false : o.stale);
    let last: ContentMatch | null = null;
    try {
      const wait = await this.m.waitForScreen(
        what,
        (s) => (last = matchContent(s, expected)).ok,
        o.timeoutMs ?? BOOT_TO_CONTENT_TIMEOUT_MS,
      );
      return { ...wait, match: matchContent(wait.screen, expected) };
    } catch (err) {
      throw new Error(`${(err as Error).message}\nlast comparison: ${last ? describeMatch(last) : 'none'}`);
    }
  }

  /** Polls the backend's view of the panel until `check` holds. */
  async waitForBackend<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    let last: T | undefined;
    let lastError: unknown = null;
    for (;;) {
      try {
        last = await read();
        if (check(last)) return last;
      } catch (err) {
        lastError = err;
      }
      if (performance.now() > deadline)
        throw new Error(
          `backend: ${what} not within ${timeoutMs / 1000} s; last ${JSON.stringify(last)} ${lastError ? String(lastError) : ''}`,
        );
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /**
   * Posts a reading that moves the panel to `level`, waits for the backend's document at that
   * level (a newer revision) and then for the QEMU screen to show it; `at` - `postedAt` is the
   * change-to-pixels time.
   */
  async showNewReading(
    pm25: number,
    level: string,
    timeoutMs: number,
  ): Promise<{ doc: DisplayDocument; shown: ScreenWait & { match: ContentMatch }; postedAt: number }> {
    const before = await this.display();
    const postedAt = performance.now();
    this.pm25 = pm25;
    await this.backend.postReading(this.sensorId, pm25);
    const doc = await this.waitForBackend(
      `document at level ${level}`,
      () => this.display(),
      (d) => d.level.id === level,
      30_000,
    );
    if (doc.revision <= before.revision) throw new Error(`the document at level ${level} is not newer than revision ${before.revision}`);
    const shown = await this.waitForContent(`level ${level}`, doc, { timeoutMs });
    return { doc, shown, postedAt };
  }

  async dispose(): Promise<void> {
    clearInterval(this.feed);
    this.shellOfBoot?.shell.close();
    await this.machine?.dispose();
    await this.backend.stop().catch(() => undefined);
    await this.reference.stop().catch(() => undefined);
  }
}
