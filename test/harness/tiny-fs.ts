// A real, tiny filesystem that can be filled up (tmpfs mounted with a size
// limit). Needs root (CAP_SYS_ADMIN); where it cannot be made, `reason` says why and the
// caller skips.
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type TinyFs =
  { ok: true; dir: string; fill(): Promise<{ path: string; bytes: number }>; unmount(): Promise<void> } | { ok: false; reason: string };

export async function mountTinyTmpfs(sizeBytes: number): Promise<TinyFs> {
  if (process.platform !== 'linux') return { ok: false, reason: `needs Linux tmpfs (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'mounting a tmpfs needs root' };
  const dir = await mkdtemp(join(tmpdir(), 'airpanel-faults-tinyfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    return { ok: false, reason: `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}` };
  }
  return {
    ok: true,
    dir,
    /** Writes a filler file until the filesystem says ENOSPC; its path and size. */
    async fill() {
      const path = join(dir, `filler-${Date.now()}`);
      const handle = await open(path, 'w');
      const chunk = Buffer.alloc(4096, 0x55);
      let bytes = 0;
      try {
        // Bounded: the filesystem is `sizeBytes` big.
        for (let i = 0; i < sizeBytes / 512 + 16; i++) {
          try {
            bytes += (await handle.write(chunk)).bytesWritten;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
        // Whatever partial page is left, too.
        for (const size of [2048, 1024, 512, 256, 128, 64, 1]) {
          for (let i = 0; i < 64; i++) {
            try {
              bytes += (await handle.write(chunk.subarray(0, size))).bytesWritten;
            } catch {
              break;
            }
          }
        }
      } finally {
        await handle.close();
      }
      return { path, bytes };
    },
    async unmount() {
      await run('umount', ['-l', dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
