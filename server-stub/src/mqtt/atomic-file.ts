import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes a file so that a reader (or a crash) sees the old content or the new one, never a
 * mix: temp file in the same directory, fsync, rename, fsync of the directory. `mode` applies
 * from the first byte, so a secret is never readable by others, not even for a moment.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new Error(`cannot write ${path}: ${(error as Error).message}`);
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
