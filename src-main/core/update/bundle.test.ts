import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as tarCreate } from 'tar';
import { buildBundle, checkBundleDir, extractBundle } from './bundle.js';

describe('bundle format (generated trees, real tar files)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-bundle-test-'));
    await mkdir(join(dir, 'dist', 'app'), { recursive: true });
    await mkdir(join(dir, 'dist', 'renderer', 'assets'), { recursive: true });
    await writeFile(join(dir, 'dist', 'app', 'main.js'), 'console.log("main")\n');
    await writeFile(join(dir, 'dist', 'app', 'preload.js'), 'console.log("preload")\n');
    await writeFile(join(dir, 'dist', 'renderer', 'index.html'), '<!doctype html>\n');
    await writeFile(join(dir, 'dist', 'renderer', 'assets', 'app.js'), 'export {}\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const inputs = () => [
    { dir: join(dir, 'dist', 'app'), as: 'app' },
    { dir: join(dir, 'dist', 'renderer'), as: 'renderer' },
  ];

  it('builds from several input directories, lists every file, and extracts to a verified tree', async () => {
    const b = await buildBundle({
      inputs: inputs(),
      version: '1.2.3',
      main: 'app/main.js',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(dir, 'b.tar.gz'),
    });
    expect(b.size).toBeGreaterThan(0);
    expect(b.descriptor.files.map((f) => f.path)).toEqual([
      'app/main.js',
      'app/preload.js',
      'renderer/assets/app.js',
      'renderer/index.html',
    ]);
    const out = join(dir, 'installed');
    const d = await extractBundle(b.file, out, '1.2.3');
    expect(d.version).toBe('1.2.3');
    expect(await readFile(join(out, 'renderer', 'index.html'), 'utf8')).toBe('<!doctype html>\n');
    // Same inputs, same bytes (fixed mtimes, sorted entries): reproducible bundles.
    const again = await buildBundle({
      inputs: inputs(),
      version: '1.2.3',
      main: 'app/main.js',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(dir, 'c.tar.gz'),
      builtAt: new Date(b.descriptor.builtAt),
    });
    expect(again.sha512).toBe(b.sha512);
  });

  it('carries the npm packages the inputs import (and their dependencies), never backend-only ones', async () => {
    const repo = join(import.meta.dirname, '..', '..', '..');
    await writeFile(
      join(dir, 'dist', 'app', 'main.js'),
      "import { z } from 'zod';\nimport { app } from 'electron';\nimport fs from 'node:fs';\nconst p = await import('./local.js');\n",
    );
    const b = await buildBundle({
      inputs: inputs(),
      version: '1.0.0',
      main: 'app/main.js',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(dir, 'd.tar.gz'),
      nodeModules: { projectDir: repo, packages: 'auto' },
    });
    const packages = new Set(b.descriptor.files.filter((f) => f.path.startsWith('node_modules/')).map((f) => f.path.split('/')[1]));
    expect([...packages]).toEqual(['zod']);
    expect(b.descriptor.files.some((f) => f.path.endsWith('.d.ts'))).toBe(false);
    await writeFile(join(dir, 'dist', 'app', 'server.js'), "import Fastify from 'fastify';\n");
    await expect(
      buildBundle({
        inputs: inputs(),
        version: '1.0.0',
        main: 'app/main.js',
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        outFile: join(dir, 'e.tar.gz'),
        nodeModules: { projectDir: repo, packages: 'auto' },
      }),
    ).rejects.toThrow(/backend-only dependency in bundle: @?fastify/);
  });

  it('refuses backend-only dependencies, symlinks and a missing entry point', async () => {
    await mkdir(join(dir, 'dist', 'app', 'node_modules', 'better-sqlite3'), { recursive: true });
    await writeFile(join(dir, 'dist', 'app', 'node_modules', 'better-sqlite3', 'index.js'), '');
    await expect(
      buildBundle({
        inputs: inputs(),
        version: '1.0.0',
        main: 'app/main.js',
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        outFile: join(dir, 'x.tar.gz'),
      }),
    ).rejects.toThrow(/backend-only/);
    await rm(join(dir, 'dist', 'app', 'node_modules'), { recursive: true });
    await symlink('/etc/passwd', join(dir, 'dist', 'app', 'link'));
    await expect(
      buildBundle({
        inputs: [{ dir: join(dir, 'dist', 'app'), as: 'app' }],
        version: '1.0.0',
        main: 'app/main.js',
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        outFile: join(dir, 'x.tar.gz'),
      }),
    ).rejects.toThrow(/only regular files/);
    await rm(join(dir, 'dist', 'app', 'link'));
    await expect(
      buildBundle({
        inputs: inputs(),
        version: '1.0.0',
        main: 'app/nope.js',
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        outFile: join(dir, 'x.tar.gz'),
      }),
    ).rejects.toThrow(/entry point/);
  });

  it('extraction refuses symlinks in the archive, files not listed, and altered files', async () => {
    const b = await buildBundle({
      inputs: inputs(),
      version: '1.0.0',
      main: 'app/main.js',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(dir, 'b.tar.gz'),
    });
    const good = join(dir, 'good');
    await extractBundle(b.file, good, '1.0.0');
    // An archive with a symlink entry.
    await symlink('/etc', join(good, 'app', 'etc'));
    await tarCreate({ gzip: true, file: join(dir, 'evil.tar.gz'), cwd: good }, ['bundle.json', 'app', 'renderer']);
    await expect(extractBundle(join(dir, 'evil.tar.gz'), join(dir, 'e1'), '1.0.0')).rejects.toThrow(/forbidden entry/);
    await rm(join(good, 'app', 'etc'));
    // A file that bundle.json does not list.
    await writeFile(join(good, 'app', 'extra.js'), 'evil()');
    await tarCreate({ gzip: true, file: join(dir, 'extra.tar.gz'), cwd: good }, ['bundle.json', 'app', 'renderer']);
    await expect(extractBundle(join(dir, 'extra.tar.gz'), join(dir, 'e2'), '1.0.0')).rejects.toThrow(/files differ/);
    await rm(join(good, 'app', 'extra.js'));
    // Same size, different content.
    await writeFile(join(good, 'app', 'main.js'), 'console.log("MAIN")\n');
    await expect(checkBundleDir(good, { hashes: true })).rejects.toThrow(/sha256/);
    await expect(checkBundleDir(good, { hashes: false })).resolves.toMatchObject({ version: '1.0.0' });
    // Larger once extracted than allowed (a decompression bomb).
    await expect(extractBundle(b.file, join(dir, 'e4'), '1.0.0', 10)).rejects.toThrow(/bytes once extracted/);
    // Wrong version.
    await expect(extractBundle(b.file, join(dir, 'e3'), '9.9.9')).rejects.toThrow(/expected 9\.9\.9/);
  });
});
