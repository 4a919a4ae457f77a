// Builds that several test files need, made once per test run however many files (each in its
// own vitest worker) ask for them: the first caller builds under a lock, the others wait for
// its "done" mark and reuse the output. The vitest run's root for them comes from the
// globalSetup (global-setup.ts), which removes it when the run ends.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './wait.js';

/**
 * `<root>/<name>`, built by `build(outDir)` exactly once for everyone sharing `root`. A build
 * that failed fails every caller with its message; a builder that died unfinished is waited
 * for `timeoutMs`.
 */
export async function buildOnce(
  root: string,
  name: string,
  build: (outDir: string) => void | Promise<void>,
  timeoutMs = 300_000,
): Promise<string> {
  const outDir = join(root, name);
  const lock = `${outDir}.lock`;
  const done = `${outDir}.done`;
  const failed = `${outDir}.failed`;
  mkdirSync(root, { recursive: true });
  let mine = false;
  try {
    mkdirSync(lock);
    mine = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (mine) {
    try {
      rmSync(outDir, { recursive: true, force: true });
      await build(outDir);
      writeFileSync(done, '');
    } catch (err) {
      writeFileSync(failed, err instanceof Error ? (err.stack ?? err.message) : String(err));
      throw err;
    }
    return outDir;
  }
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(done)) return outDir;
    if (existsSync(failed)) throw new Error(`the shared build ${name} failed in another test file:\n${readFileSync(failed, 'utf8')}`);
    if (Date.now() > end) throw new Error(`the shared build ${name} did not finish within ${timeoutMs} ms`);
    await sleep(250);
  }
}
