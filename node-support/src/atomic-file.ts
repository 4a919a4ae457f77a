import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/*
 * Power-loss-safe file writes: write a temp file beside the target, fsync it, rename it over
 * the target, fsync the directory. A reader (or a panel after a power cut) sees the old
 * content or the new, never a mix.
 *
 * The temp file is `.<name>.<pid>.<hex>.tmp` in the target's directory (the core's cache
 * removes leftovers of interrupted writes by that pattern). It is created exclusively with
 * `mode` (default 0600: private unless asked) and then chmodded to exactly `mode`, so the
 * umask cannot narrow it and a secret is never readable by others, not even for a moment.
 * The chmod is skipped for modes that give nothing to group and others: a umask only ever
 * removes bits, and one that removed the owner's would be a broken system, not a leak.
 * On a failure before the rename the temp file is removed and the error thrown as is (its
 * `code`, e.g. ENOSPC, intact); the target keeps its old content.
 */

export interface AtomicWriteOptions {
  /** Permission bits of the file (default 0o600). */
  mode?: number;
  /** Give the file to this user and group before it appears (needs root). */
  owner?: { uid: number; gid: number };
  /**
   * Default true. False leaves the directory's fsync to the caller, who writes several files
   * into one directory and then calls fsyncDir once (the rename is still atomic).
   */
  syncDirectory?: boolean;
}

const DEFAULT_MODE = 0o600;

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Some filesystems refuse fsync on a directory; the rename itself is still atomic there. */
function isUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'ENOTSUP' || code === 'EOPNOTSUPP';
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? DEFAULT_MODE;
  const temp = tempPathFor(path);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data);
      if ((mode & 0o077) !== 0) await handle.chmod(mode);
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (options.syncDirectory !== false) await fsyncDir(dirname(path));
}

/** Synchronous twin of writeFileAtomic (the loader's short critical sections, sync callers). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const mode = options.mode ?? DEFAULT_MODE;
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if ((mode & 0o077) !== 0) fchmodSync(fd, mode);
      if (options.owner) fchownSync(fd, options.owner.uid, options.owner.gid);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  if (options.syncDirectory !== false) fsyncDirSync(dirname(path));
}

/**
 * Makes the entries of `dir` (a rename, a removal) durable. Filesystems that refuse fsync on
 * a directory are let be: the rename itself is atomic there.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    if (!isUnsupported(err)) throw err;
  } finally {
    await handle.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!isUnsupported(err)) throw err;
  } finally {
    closeSync(fd);
  }
}
