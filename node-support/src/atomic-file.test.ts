import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watch } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsyncDir, fsyncDirSync, writeFileAtomic, writeFileAtomicSync } from './atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airpanel-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const variants = [
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', async (...a: Parameters<typeof writeFileAtomicSync>) => writeFileAtomicSync(...a)],
] as const;

describe.each(variants)('%s', (_name, write) => {
  it('replaces the content whole and leaves only the target', async () => {
    const file = join(dir, 'x.json');
    await write(file, 'old');
    await write(file, new TextEncoder().encode('new content'));
    expect(await readFile(file, 'utf8')).toBe('new content');
    expect(await readdir(dir)).toEqual(['x.json']);
  });

  it('writes private files by default and exactly the asked mode otherwise', async () => {
    await write(join(dir, 'secret'), 's');
    await write(join(dir, 'public'), 'p', { mode: 0o644 });
    await writeFile(join(dir, 'was-public'), 'old', { mode: 0o644 });
    await write(join(dir, 'was-public'), 'new', { mode: 0o600 });
    expect((await stat(join(dir, 'secret'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'public'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dir, 'was-public'))).mode & 0o777).toBe(0o600);
  });

  it('gives the file to the owner asked', async () => {
    const uid = process.getuid!();
    const gid = process.getgid!();
    await write(join(dir, 'owned'), 'o', { owner: { uid, gid } });
    const st = await stat(join(dir, 'owned'));
    expect([st.uid, st.gid]).toEqual([uid, gid]);
  });

  it('fails with the original error and leaves no temp file when the directory is missing', async () => {
    await expect(write(join(dir, 'nope', 'x.json'), 'data')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the temp file and keeps the old content when the rename fails', async () => {
    const target = join(dir, 'target');
    await mkdir(join(target, 'inside'), { recursive: true });
    await expect(write(target, 'data')).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(await readdir(dir)).toEqual(['target']);
  });
});

describe('temp file naming', () => {
  it('is .<name>.<pid>.<hex>.tmp beside the target (the cache cleans leftovers by that pattern)', async () => {
    const seen: string[] = [];
    const watcher = watch(dir, (_event, name) => {
      if (name) seen.push(name);
    });
    try {
      await writeFileAtomic(join(dir, 'display.json'), 'x');
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      watcher.close();
    }
    const temps = seen.filter((n) => n.endsWith('.tmp'));
    expect(temps.length).toBeGreaterThan(0);
    for (const name of temps) expect(name).toMatch(new RegExp(`^\\.display\\.json\\.${process.pid}\\.[0-9a-f]+\\.tmp$`));
  });
});

describe('fsyncDir', () => {
  it('syncs an existing directory and fails on a missing one', async () => {
    await expect(fsyncDir(dir)).resolves.toBeUndefined();
    expect(() => fsyncDirSync(dir)).not.toThrow();
    await expect(fsyncDir(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => fsyncDirSync(join(dir, 'missing'))).toThrow(/ENOENT/);
  });
});
