// One cleanup list and temp dirs that remove themselves: what every test, benchmark and the dev
// stack use to stop what they started, in reverse order of starting. (useCleanups, for vitest
// files, is in use-cleanups.ts: this file stays free of the test runner.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Cleanup = () => Promise<void> | void;

/** Cleanups run last-added first; one that fails is reported and the others still run. */
export class Cleanups {
  private readonly list: Cleanup[] = [];

  add(...fns: Cleanup[]): void {
    this.list.push(...fns);
  }

  async run(): Promise<void> {
    while (this.list.length) {
      try {
        await this.list.pop()!();
      } catch (err) {
        console.error('[harness] cleanup failed:', err);
      }
    }
  }
}

/** A fresh directory under the OS temp dir, removed by `cleanups`. */
export async function makeTempDir(cleanups: Cleanups, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  cleanups.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
