import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The Electron build runs here even though Electron does not: main (ESM) and the sandboxed
// preload (one CommonJS file that requires only electron), into a temp dir.
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('build:electron', () => {
  let out = '';
  afterAll(() => (out ? rm(out, { recursive: true, force: true }) : undefined));

  it('builds main.js and a self-contained preload.cjs', async () => {
    out = await mkdtemp(join(tmpdir(), 'airpanel-electron-build-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src-main/electron/build.ts', '--out-dir', out, '--no-renderer'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const preload = await readFile(join(out, 'preload.cjs'), 'utf8');
    expect(new Set([...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]))).toEqual(new Set(['electron']));
    expect(preload).toContain('exposeInMainWorld("airpanel"');
    expect(preload).not.toMatch(/^import /m);
    const main = await readFile(join(out, 'main.js'), 'utf8');
    expect(main).toMatch(/^import .* from "electron";$/m);
    expect(main).toContain('requestSingleInstanceLock');
    expect(main).toContain('prevent-display-sleep');
  }, 120_000);
});
