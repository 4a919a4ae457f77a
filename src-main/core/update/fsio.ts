import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from '@airpanel/node-support/atomic-file';

/**
 * Renames and makes the rename durable (fsync of both parent directories). Atomic file writes
 * and fsyncDir live in node-support/src/atomic-file.ts (shared with the loader, the
 * backend and provisioning). Dependency-free on purpose: the loader may compile it in.
 */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
  if (dirname(from) !== dirname(to)) await fsyncDir(dirname(from));
}
