import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneReleases } from './install.js';
import { releaseLayout } from './layout.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('pruneReleases', () => {
  it('deletes unreferenced bundles and the debris of an interrupted install or prune, keeps what is in use', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'airpanel-prune-'));
    dirs.push(dataDir);
    const layout = releaseLayout(dataDir);
    // A power cut between a discard's rename and its delete, and one during an extraction.
    for (const d of ['1.0.0', '2.0.0', '.trash-0123456789ab', '.staging-3.0.0-abcd1234']) {
      await mkdir(join(layout.releasesDir, d, 'app'), { recursive: true });
      await writeFile(join(layout.releasesDir, d, 'app', 'main.js'), 'x');
    }
    await mkdir(layout.downloadDir, { recursive: true });

    const removed = await pruneReleases(layout, ['2.0.0']);

    expect(removed).toEqual(['1.0.0']);
    expect((await readdir(layout.releasesDir)).sort()).toEqual(['.download', '2.0.0']);
  });
});
