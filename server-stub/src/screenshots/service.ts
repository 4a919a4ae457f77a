import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Panel } from '@airpanel/contract';
import { writeFileAtomicSync } from '@airpanel/node-support/atomic-file';
import { ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The latest screenshot of each panel (its answer to the `screenshot` command): one PNG per panel in a directory. */
export class ScreenshotService {
  constructor(private readonly o: { dir: string; panels: { require(panelId: string): Panel }; logger: Logger }) {}

  private file(panelId: string): string {
    // panelId is a validated Identifier: no separators, safe as a file name.
    return path.join(this.o.dir, `${panelId}.png`);
  }

  save(panelId: string, png: Buffer): void {
    this.o.panels.require(panelId);
    if (png.length < PNG_SIGNATURE.length || !png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
      throw new ServiceError('bad-request', 'not-png', 'the body is not a PNG image');
    }
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    writeFileAtomicSync(this.file(panelId), png, { mode: 0o600 });
    this.o.logger.info('screenshot received', { panelId, bytes: png.length });
  }

  get(panelId: string): { png: Buffer; takenAt: string } {
    this.o.panels.require(panelId);
    try {
      const file = this.file(panelId);
      return { png: readFileSync(file), takenAt: statSync(file).mtime.toISOString() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ServiceError('not-found', 'not-found', `panel "${panelId}" has sent no screenshot yet (send it the screenshot command)`);
      throw error;
    }
  }

  /** A deleted panel's screenshot goes with it. */
  remove(panelId: string): void {
    rmSync(this.file(panelId), { force: true });
  }
}
